#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SpecDecKernels

/// Where one tensor lives in a GGUF file and what it holds.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    public var name: String
    /// Dimensions in GGML order: `shape[0]` is the contiguous (row) length.
    public var shape: [Int]
    /// Element format.
    public var type: GGMLType
    /// Offset of the data from the start of the tensor-data section.
    public var offset: Int

    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }
    /// Bytes of data (shape checked when the file was read).
    public var byteCount: Int { type.byteCount(elements: elementCount) ?? 0 }
}

/// A GGUF file (versions 2 and 3), memory-mapped read-only.
///
/// Metadata and tensor infos are parsed eagerly; tensor data is not copied:
/// ``data(of:)`` returns a pointer into the mapping, valid while the file object lives.
///
/// ```swift
/// let file = try GGUFFile(path: "model.gguf")
/// let arch = file.metadata["general.architecture"]?.string
/// let q = try file.tensor("blk.0.attn_q.weight")
/// ```
public final class GGUFFile: @unchecked Sendable {
    /// Path the file was opened from.
    public let path: String
    /// Format version (2 or 3).
    public let version: UInt32
    /// All metadata key/value pairs.
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    /// Alignment of tensor data (`general.alignment`, default 32).
    public let alignment: Int
    /// Absolute offset of the tensor-data section.
    public let dataOffset: Int
    /// Size of the file in bytes.
    public let fileSize: Int

    private let base: UnsafeMutableRawPointer
    private let byName: [String: Int]

    /// Opens and parses a GGUF file, validating every tensor's type, shape and extent.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw GGUFError.cannotOpen(path: path, reason: "is a directory") }
        let size = Int(st.st_size)
        fileSize = size
        guard size > 0 else { throw GGUFError.truncated(offset: 0, needed: 4, fileSize: 0) }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw GGUFError.cannotOpen(path: path, reason: "mmap failed: " + String(cString: strerror(errno)))
        }
        base = map
        do {
            var r = ByteReader(base: UnsafeRawPointer(map), size: size)
            let parsed = try GGUFFile.parse(&r)
            version = parsed.version
            metadata = parsed.metadata
            metadataKeys = parsed.keys
            tensors = parsed.tensors
            alignment = parsed.alignment
            dataOffset = parsed.dataOffset
            var names: [String: Int] = [:]
            for (i, t) in parsed.tensors.enumerated() { names[t.name] = i }
            byName = names
        } catch {
            munmap(map, size)
            throw error
        }
    }

    deinit {
        munmap(base, fileSize)
    }

    /// The info of the tensor named `name`, or nil.
    public func info(_ name: String) -> GGUFTensorInfo? { byName[name].map { tensors[$0] } }

    /// The info of the tensor named `name`; throws ``GGUFError/missingTensor(_:)`` when absent.
    public func tensor(_ name: String) throws -> GGUFTensorInfo {
        guard let t = info(name) else { throw GGUFError.missingTensor(name) }
        return t
    }

    /// A pointer to the tensor's data inside the mapping.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer {
        // Extent validated in `parse`.
        UnsafeRawPointer(base).advanced(by: dataOffset + tensor.offset)
    }

    /// Drops this process's resident pages of `tensor`'s data (`madvise(MADV_DONTNEED)` on the whole
    /// pages inside its extent). The data stays readable: a later access faults it back in from the
    /// page cache. Used after a tensor was repacked into memory, so that it is not resident twice.
    public func releasePages(of tensor: GGUFTensorInfo) {
        releasePages(at: data(of: tensor), byteCount: tensor.byteCount)
    }

    /// The same for `byteCount` bytes at `start`, which must lie inside this file's mapping (whole
    /// pages inside the range only; a range outside the mapping is ignored).
    public func releasePages(at start: UnsafeRawPointer, byteCount: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let begin = start - UnsafeRawPointer(base)
        guard page > 0, byteCount > 0, begin >= 0, begin + byteCount <= fileSize else { return }
        let first = (begin + page - 1) / page * page, last = (begin + byteCount) / page * page
        if last > first { _ = madvise(base + first, last - first, MADV_DONTNEED) }
    }

    /// The architecture string (`general.architecture`).
    public var architecture: String? { metadata["general.architecture"]?.string }

    // MARK: typed metadata access

    /// An integer metadata value; throws when missing or not an integer.
    public func int(_ key: String) throws -> Int {
        guard let v = metadata[key] else { throw GGUFError.missingKey(key) }
        guard let i = v.int else { throw GGUFError.wrongKeyType(key: key, expected: "an integer") }
        return i
    }

    /// A floating-point metadata value; throws when missing or not a number.
    public func double(_ key: String) throws -> Double {
        guard let v = metadata[key] else { throw GGUFError.missingKey(key) }
        guard let d = v.double else { throw GGUFError.wrongKeyType(key: key, expected: "a number") }
        return d
    }

    /// A string-array metadata value; throws when missing or of another type.
    public func strings(_ key: String) throws -> [String] {
        guard let v = metadata[key] else { throw GGUFError.missingKey(key) }
        guard let a = v.array else { throw GGUFError.wrongKeyType(key: key, expected: "an array of strings") }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard let s = e.string else { throw GGUFError.wrongKeyType(key: key, expected: "an array of strings") }
            out.append(s)
        }
        return out
    }

    // MARK: parsing

    private struct Parsed {
        var version: UInt32
        var metadata: [String: GGUFValue]
        var keys: [String]
        var tensors: [GGUFTensorInfo]
        var alignment: Int
        var dataOffset: Int
    }

    private static func parse(_ r: inout ByteReader) throws -> Parsed {
        let magic: UInt32 = try r.read()
        guard magic == 0x4655_4747 else { throw GGUFError.badMagic(found: magic) }
        let version: UInt32 = try r.read()
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
        let nTensors = try r.readCount()
        let nKV = try r.readCount()
        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for _ in 0..<nKV {
            let key = try r.readString()
            let rawType: UInt32 = try r.read()
            guard let type = GGUFValueType(rawValue: rawType) else { throw GGUFError.unknownValueType(raw: rawType, key: key) }
            let value = try r.readValue(type, key: key, depth: 0)
            if metadata[key] != nil { throw GGUFError.duplicateKey(key) }
            metadata[key] = value
            keys.append(key)
        }
        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard let v = a.int, v > 0, v & (v - 1) == 0 else { throw GGUFError.badAlignment(a.int ?? -1) }
            alignment = v
        }
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(nTensors)
        var seen = Set<String>()
        for _ in 0..<nTensors {
            let name = try r.readString()
            let nDims: UInt32 = try r.read()
            guard nDims >= 1, nDims <= 4 else {
                throw GGUFError.badTensorShape(tensor: name, shape: [], reason: "\(nDims) dimensions (expected 1 to 4)")
            }
            var shape: [Int] = []
            for _ in 0..<nDims {
                let d: UInt64 = try r.read()
                guard let di = Int(exactly: d), di <= (1 << 40) else {
                    throw GGUFError.badTensorShape(tensor: name, shape: shape, reason: "dimension \(d) is too large")
                }
                shape.append(di)
            }
            let rawType: UInt32 = try r.read()
            guard let type = GGMLType(rawValue: rawType) else { throw GGUFError.unknownTensorType(tensor: name, raw: rawType) }
            let off: UInt64 = try r.read()
            guard let offset = Int(exactly: off), offset <= (1 << 50) else {
                throw GGUFError.tensorOutOfBounds(tensor: name, end: Int.max, fileSize: r.size)
            }
            guard shape[0] % type.blockSize == 0 else {
                throw GGUFError.badTensorShape(tensor: name, shape: shape,
                                               reason: "row length is not a multiple of the \(type) block size \(type.blockSize)")
            }
            var count = 1
            for d in shape {
                let (p, o) = count.multipliedReportingOverflow(by: d)
                guard !o, p <= (1 << 42) else { throw GGUFError.badTensorShape(tensor: name, shape: shape, reason: "too many elements") }
                count = p
            }
            guard !seen.contains(name) else { throw GGUFError.duplicateTensor(name) }
            seen.insert(name)
            tensors.append(GGUFTensorInfo(name: name, shape: shape, type: type, offset: offset))
        }
        let dataOffset = (r.offset + alignment - 1) / alignment * alignment
        for t in tensors {
            let end = dataOffset + t.offset + t.byteCount
            guard end <= r.size else { throw GGUFError.tensorOutOfBounds(tensor: t.name, end: end, fileSize: r.size) }
        }
        return Parsed(version: version, metadata: metadata, keys: keys, tensors: tensors,
                      alignment: alignment, dataOffset: dataOffset)
    }
}

/// Bounds-checked little-endian reads from a byte range.
struct ByteReader {
    let base: UnsafeRawPointer
    let size: Int
    var offset = 0

    init(base: UnsafeRawPointer, size: Int) {
        self.base = base
        self.size = size
    }

    mutating func need(_ n: Int) throws {
        guard n >= 0, n <= size - offset else { throw GGUFError.truncated(offset: offset, needed: n, fileSize: size) }
    }

    mutating func read<T: FixedWidthInteger>() throws -> T {
        try need(MemoryLayout<T>.size)
        let v = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func readCount() throws -> Int {
        let v: UInt64 = try read()
        // Each counted item takes at least one byte, so a count above the file size is a truncation.
        guard v <= UInt64(size) else { throw GGUFError.truncated(offset: offset, needed: Int(clamping: v), fileSize: size) }
        return Int(v)
    }

    mutating func readString() throws -> String {
        let n = try readCount()
        try need(n)
        let buf = UnsafeRawBufferPointer(start: base + offset, count: n)
        guard let s = String(validating: buf, as: UTF8.self) else { throw GGUFError.invalidString(offset: offset) }
        offset += n
        return s
    }

    mutating func readValue(_ type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read())
        case .int8: return .int8(try read())
        case .uint16: return .uint16(try read())
        case .int16: return .int16(try read())
        case .uint32: return .uint32(try read())
        case .int32: return .int32(try read())
        case .uint64: return .uint64(try read())
        case .int64: return .int64(try read())
        case .float32: return .float32(Float(bitPattern: try read()))
        case .float64: return .float64(Double(bitPattern: try read()))
        case .bool:
            let b: UInt8 = try read()
            return .bool(b != 0)
        case .string: return .string(try readString())
        case .array:
            guard depth < 8 else { throw GGUFError.unknownValueType(raw: GGUFValueType.array.rawValue, key: key) }
            let rawElem: UInt32 = try read()
            guard let elem = GGUFValueType(rawValue: rawElem) else { throw GGUFError.unknownValueType(raw: rawElem, key: key) }
            let n = try readCount()
            var out: [GGUFValue] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try readValue(elem, key: key, depth: depth + 1)) }
            return .array(elementType: elem, out)
        }
    }
}
