import SpecDecKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds a GGUF (version 3) file in memory: metadata in insertion order, then tensors.
///
/// Tests use it to write tiny random-weight models that are then loaded through ``GGUFFile``.
///
/// ```swift
/// var w = GGUFWriter()
/// w.set("general.architecture", .string("llama"))
/// w.addTensor("output_norm.weight", shape: [64], type: .f32, data: bytes)
/// try w.write(to: "/tmp/tiny.gguf")
/// ```
public struct GGUFWriter: Sendable {
    private var keys: [String] = []
    private var values: [String: GGUFValue] = [:]
    private var tensors: [(name: String, shape: [Int], type: GGMLType, data: [UInt8])] = []
    /// Alignment of tensor data; written as `general.alignment` when not 32.
    public var alignment: Int = 32
    /// Format version to write (2 or 3).
    public var version: UInt32 = 3

    public init() {}

    /// Sets a metadata value (replacing an earlier one with the same key, keeping its position).
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if values[key] == nil { keys.append(key) }
        values[key] = value
    }

    /// Adds a tensor. `data` must hold exactly the bytes of `shape` elements of `type`.
    public mutating func addTensor(_ name: String, shape: [Int], type: GGMLType, data: [UInt8]) {
        precondition(type.byteCount(elements: shape.reduce(1, *)) == data.count, "tensor \(name): data size does not match shape")
        tensors.append((name, shape, type, data))
    }

    /// Adds an F32 tensor from floats.
    public mutating func addTensor(_ name: String, shape: [Int], floats: [Float]) {
        var bytes = [UInt8](repeating: 0, count: floats.count * 4)
        floats.withUnsafeBytes { src in bytes.withUnsafeMutableBytes { $0.copyMemory(from: src) } }
        addTensor(name, shape: shape, type: .f32, data: bytes)
    }

    /// The encoded file.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func str(_ s: String) { let u = Array(s.utf8); u64(UInt64(u.count)); out.append(contentsOf: u) }
        func value(_ v: GGUFValue) {
            switch v {
            case .uint8(let x): out.append(x)
            case .int8(let x): out.append(UInt8(bitPattern: x))
            case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .int16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .uint32(let x): u32(x)
            case .int32(let x): u32(UInt32(bitPattern: x))
            case .float32(let x): u32(x.bitPattern)
            case .bool(let x): out.append(x ? 1 : 0)
            case .string(let s): str(s)
            case .uint64(let x): u64(x)
            case .int64(let x): u64(UInt64(bitPattern: x))
            case .float64(let x): u64(x.bitPattern)
            case .array(let t, let elems):
                u32(t.rawValue)
                u64(UInt64(elems.count))
                for e in elems { value(e) }
            }
        }
        var allKeys = keys
        var allValues = values
        if alignment != 32 && allValues["general.alignment"] == nil {
            allKeys.append("general.alignment")
            allValues["general.alignment"] = .uint32(UInt32(alignment))
        }
        u32(0x4655_4747)
        u32(version)
        u64(UInt64(tensors.count))
        u64(UInt64(allKeys.count))
        for k in allKeys {
            guard let v = allValues[k] else { continue }
            str(k)
            u32(v.type.rawValue)
            value(v)
        }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset += (t.data.count + alignment - 1) / alignment * alignment
        }
        for (i, t) in tensors.enumerated() {
            str(t.name)
            u32(UInt32(t.shape.count))
            for d in t.shape { u64(UInt64(d)) }
            u32(t.type.rawValue)
            u64(UInt64(offsets[i]))
        }
        while out.count % alignment != 0 { out.append(0) }
        for t in tensors {
            out.append(contentsOf: t.data)
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }

    /// Writes the encoded file to `path`.
    public func write(to path: String) throws {
        let bytes = encoded()
        guard let f = fopen(path, "wb") else {
            throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(f) }
        let n = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        guard n == bytes.count else { throw GGUFError.cannotOpen(path: path, reason: "short write") }
    }
}
