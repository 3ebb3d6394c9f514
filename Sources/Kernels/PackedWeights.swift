import SpecDecCKernels

/// Owns copies of weight matrices repacked at load time into the layout one kernel set's kernels
/// unpack with plain vector loads (each set has its own; a matrix is packed for one set only, so the
/// weights stay resident once).
///
/// AVX-512:
/// The legacy 32-value block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) interleave a 2-byte scale with
/// every 16 or 32 bytes of values, so the GGUF layout needs byte gathers before each dot product.
/// Repacked, each super-block of 8 blocks keeps its values in the order of the unpacked vectors and
/// its scales together (same size as the GGUF data; described in CKernels/avx512/matmul_native.c). Q4_K and
/// Q6_K blocks keep their size too, with the values' nibbles (and Q6_K's 2-bit high parts) in planes
/// in the order of the unpacked vectors, and Q6_K's scales in lane order (CKernels/avx512/matmul_k.c), so
/// that unpacking needs no byte gathers. The arithmetic is unchanged: a packed matrix gives results
/// bit-identical to the GGUF layout.
///
/// AVX2: every quantized format (Q5_K too) is stored as eight 32-byte vectors per 256 values whose
/// 32-bit lanes (Q6_K: 16-bit lanes) each belong to one scale group, as nibble planes and high-bit
/// planes, same size per block (described in CKernels/avx2/avx2_repack.c).
///
/// Packing happens only for a set with a packed layout of the format; other formats are returned as is.
public final class PackedWeights: @unchecked Sendable {
    /// Kernel type number offset of the packed formats (matches dispatch.c).
    static let kernelTypeOffset: Int32 = 100

    private var buffers: [UnsafeMutableRawPointer] = []
    /// Bytes held by the packed copies.
    public private(set) var byteCount = 0

    public init() {}

    deinit { for b in buffers { b.deallocate() } }

    /// True when `type` has a packed layout for `kernels` and those kernels can run here.
    public static func canPack(_ type: GGMLType, for kernels: KernelSet = .active) -> Bool {
        guard kernels.isSupported else { return false }
        switch (kernels, type) {
        case (.avx512, .q4_0), (.avx512, .q4_1), (.avx512, .q5_0), (.avx512, .q5_1), (.avx512, .q8_0),
             (.avx512, .q4_K), (.avx512, .q6_K):
            return true
        case (.avx2, .q4_0), (.avx2, .q4_1), (.avx2, .q5_0), (.avx2, .q5_1), (.avx2, .q8_0), (.avx2, .q4_K),
             (.avx2, .q5_K), (.avx2, .q6_K):
            return true
        default:
            return false
        }
    }

    /// `w` with a packed copy attached (owned by this store), or `w` unchanged when its format has no
    /// packed layout. Row ranges are packed in parallel on `pool` when given. `release`, when given,
    /// is called with each source range (about 1 MiB) once it has been packed, so that the caller can
    /// drop those pages while the rest is still being read: the source and its copy are then never
    /// both resident in full.
    public func pack(_ w: WeightMatrix, for kernels: KernelSet = .active, pool: ThreadPool? = nil,
                     release: ((UnsafeRawPointer, Int) -> Void)? = nil) -> WeightMatrix {
        // Rows of whole blocks only (GGUF rows always are): the repackers refuse anything else.
        guard PackedWeights.canPack(w.type, for: kernels), w.rows > 0, w.cols > 0, w.cols % w.type.blockSize == 0 else { return w }
        let rowBytes = w.rowBytes, rows = w.rows, cols = w.cols
        // 64 bytes of zeroed slack: the Q5 kernels read the high-bit masks 8 bytes at a time. The rows
        // themselves are all written by the repacker.
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: rows * rowBytes + 64, alignment: 64)
        (buffer + rows * rowBytes).initializeMemory(as: UInt8.self, repeating: 0, count: 64)
        let type = Int32(w.type.rawValue), src = w.data
        let chunkRows = max(1, (1 << 20) / rowBytes)
        let tasks = max(1, min((rows + chunkRows - 1) / chunkRows, (pool?.threadCount ?? 1) * 4))
        let perTask = (rows + tasks - 1) / tasks
        let body: (Int) -> Void = { t in
            var r0 = t * perTask
            let end = min(rows, r0 + perTask)
            while r0 < end {
                let r1 = min(end, r0 + chunkRows)
                if kernels == .avx2 {
                    _ = sdk_avx2_repack(type, src + r0 * rowBytes, buffer + r0 * rowBytes, r1 - r0, cols)
                } else {
                    _ = sdk_repack(type, src + r0 * rowBytes, buffer + r0 * rowBytes, r1 - r0, cols)
                }
                release?(src + r0 * rowBytes, (r1 - r0) * rowBytes)
                r0 = r1
            }
        }
        if let pool { pool.run(tasks: tasks, body) } else { for t in 0..<tasks { body(t) } }
        buffers.append(buffer)
        byteCount += rows * rowBytes
        return WeightMatrix(type: w.type, rows: rows, cols: cols, data: w.data, packed: UnsafeRawPointer(buffer),
                            packedKernels: kernels)
    }
}
