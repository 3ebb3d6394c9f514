#if canImport(Glibc)
import Glibc
#endif
import SpecDecCKernels

/// A row-major weight matrix stored in GGUF layout: `rows` rows of `cols` elements, each row `type.byteCount(elements: cols)` bytes.
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer
    /// The same matrix repacked into the vector kernels' layout (see ``PackedWeights``), or nil. The
    /// AVX-512 kernels read it when present; the portable and exact paths always read `data`.
    public let packed: UnsafeRawPointer?

    public init(type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer, packed: UnsafeRawPointer? = nil) {
        precondition(rows >= 0 && cols >= 0 && cols % type.blockSize == 0, "cols must be a multiple of the block size")
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
        self.packed = packed
    }

    /// Bytes of one stored row.
    @inlinable public var rowBytes: Int { cols / type.blockSize * type.blockBytes }
    /// Start of row `r`.
    @inlinable public func row(_ r: Int) -> UnsafeRawPointer { data + r * rowBytes }
}

/// Matrix multiplication engine with reusable scratch (no heap allocation per call once warmed up).
///
/// Rows are split into tasks over the pool; each task streams its weight rows once and applies every
/// weight block to up to 8 batch columns held in registers (larger batches take more passes over
/// an L2-resident tile of 16 rows), with the activations chunked to stay in L1. Quantized weights use
/// 8-bit activations quantized once per call: Q8_K-style (one scale per 256 values, with block
/// sums) for K-quants, Q8_0-style (one scale per 32) for the legacy formats, and integer dot
/// products (AVX-512 VNNI `vpdpbusd` in SpecDecCKernels when the CPU has it, else portable Swift SIMD).
/// See Activations.swift for the layouts.
/// One `MatMul` must not be used from two threads at once (it owns the scratch); use one per thread.
public final class MatMul: @unchecked Sendable {
    /// Which kernels run the row dot products.
    enum Backend { case avx512, portable }

    /// True when the CPU supports the AVX-512 VNNI kernels.
    public static let vectorKernelsAvailable: Bool = sdk_cpu_supported() != 0

    public let pool: ThreadPool
    /// Kernels in use; tests switch to `.portable` to compare the two paths.
    var backend: Backend = MatMul.vectorKernelsAvailable ? .avx512 : .portable
    private var scratch: UnsafeMutableRawPointer?
    private var scratchBytes = 0

    /// Runs tasks inline on the caller (no workers).
    private let serialPool = ThreadPool(threads: 1)

    public init(pool: ThreadPool) {
        self.pool = pool
    }

    deinit { scratch?.deallocate() }

    private func ensureScratch(_ bytes: Int) -> UnsafeMutableRawPointer {
        if bytes > scratchBytes || scratch == nil {
            scratch?.deallocate()
            scratchBytes = max(bytes, scratchBytes * 3 / 2, 4096)
            scratch = .allocate(byteCount: scratchBytes, alignment: 64)
        }
        return scratch!
    }

    /// output[b*outStride + r] = sum_c W[r, c] * input[b*inStride + c] for b in 0..<batch, r in 0..<w.rows.
    public func multiply(_ w: WeightMatrix, input: UnsafePointer<Float>, inStride: Int, batch: Int,
                         output: UnsafeMutablePointer<Float>, outStride: Int) {
        if batch <= 0 || w.rows == 0 { return }
        let cols = w.cols
        if cols == 0 {
            for b in 0..<batch { for r in 0..<w.rows { output[b * outStride + r] = 0 } }
            return
        }
        precondition(batch == 1 || (inStride >= cols && outStride >= w.rows), "strides too small")
        if exact { return multiplyExact(w, input: input, inStride: inStride, batch: batch, output: output, outStride: outStride) }
        let type = w.type
        let threads = pool.threadCount
        // Two row ranges per thread: each thread streams long contiguous ranges (the hardware prefetcher
        // stays ahead) and a call costs few task claims, with some slack left for a late thread.
        // Measured against 8 per thread (`specdec speed`, batch sizes interleaved in one process):
        // 6-23% faster forwards for B <= 8, the same for B >= 32.
        let rowTasks = max(1, min(threads * 2, w.rows / 16))
        // Small activations are quantized on the calling thread: cheaper than waking the pool.
        let quantizePool = batch * cols >= 32768 ? pool : serialPool
        let unpackBytes = rowTasks * 256

        // Activations: raw floats, or quantized into scratch.
        let act: UnsafeRawPointer
        let actStride: Int
        let base: UnsafeMutableRawPointer
        switch type {
        case .f32, .f16, .bf16:
            base = ensureScratch(unpackBytes)
            act = UnsafeRawPointer(input)
            actStride = inStride * 4
        case .q4_K, .q5_K, .q6_K:
            actStride = ActivationLayout.kStride(cols)
            base = ensureScratch(unpackBytes + batch * actStride)
            let dst = base + unpackBytes
            act = UnsafeRawPointer(dst)
            let nb = cols / 256, chunk = 8
            let chunks = (nb + chunk - 1) / chunk
            let vector = backend == .avx512
            quantizePool.run(tasks: batch * chunks) { t in
                let c = t / chunks, b0 = (t % chunks) * chunk, n = min(chunk, nb - b0)
                let x = input + c * inStride + 256 * b0
                let qs = dst + c * actStride + 256 * b0
                let meta = dst + c * actStride + cols + ActivationLayout.kMetaBytes * b0
                if vector {
                    sdk_quantize_act_k(x, n, qs.assumingMemoryBound(to: Int8.self), meta.assumingMemoryBound(to: UInt8.self),
                                       Int32(type.rawValue))
                } else {
                    quantizeActivationsK(x, blocks: n, qs: qs, meta: meta, type: type, permuted: false)
                }
            }
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0:
            actStride = ActivationLayout.legacyStride(cols)
            base = ensureScratch(unpackBytes + batch * actStride)
            let dst = base + unpackBytes
            act = UnsafeRawPointer(dst)
            let nsb = ActivationLayout.superBlocks(cols), qsBytes = 256 * nsb, chunk = 8
            let chunks = (nsb + chunk - 1) / chunk
            let vector = backend == .avx512
            quantizePool.run(tasks: batch * chunks) { t in
                let c = t / chunks, s0 = (t % chunks) * chunk
                let n = min(256 * chunk, cols - 256 * s0)
                let x = input + c * inStride + 256 * s0
                let qs = dst + c * actStride + 256 * s0
                let meta = dst + c * actStride + qsBytes + ActivationLayout.kMetaBytes * s0
                if vector {
                    sdk_quantize_act_legacy(x, n, qs.assumingMemoryBound(to: Int8.self), meta.assumingMemoryBound(to: UInt8.self),
                                            Int32(type.rawValue))
                } else {
                    quantizeActivationsLegacy(x, count: n, qs: qs, meta: meta, type: type, permuted: false)
                }
            }
        case .q8_1, .q8_K:
            preconditionFailure("MatMul: \(type) is an activation format, not supported as weights")
        }

        let rows = w.rows
        let perTask = (rows + rowTasks - 1) / rowTasks
        let rowBytes = w.rowBytes
        let data = w.data
        let vector = backend == .avx512
        // Packed legacy matrices have their own kernels (type number + 100), same activations.
        let kernelData = vector ? (w.packed ?? data) : data
        let kernelType = Int32(type.rawValue) + (vector && w.packed != nil ? PackedWeights.kernelTypeOffset : 0)
        pool.run(tasks: rowTasks) { t in
            let r0 = t * perTask, r1 = min(rows, r0 + perTask)
            if r0 >= r1 { return }
            if vector {
                sdk_matmul_rows(kernelType, kernelData, rowBytes, r0, r1, cols, act, actStride, batch, output, outStride)
            } else {
                portableRows(type, data, rowBytes: rowBytes, r0, r1, cols: cols, act, actStride: actStride,
                             batch: batch, output, outStride: outStride, unpacked: base + 256 * t)
            }
        }
    }

    /// Exact mode: dequantize each weight row to float and use float activations (slow). It separates
    /// the error of 8-bit activations from everything else; the golden tests use it. Defaults to the
    /// environment variable `SPECDEC_EXACT_MATMUL=1`.
    public var exact: Bool = getenv("SPECDEC_EXACT_MATMUL").map { String(cString: $0) == "1" } ?? false

    private func multiplyExact(_ w: WeightMatrix, input: UnsafePointer<Float>, inStride: Int, batch: Int,
                               output: UnsafeMutablePointer<Float>, outStride: Int) {
        let cols = w.cols, rows = w.rows
        let tasks = min(rows, pool.threadCount * 4)
        let perTask = (rows + tasks - 1) / tasks
        let buf = ensureScratch(tasks * cols * 4).assumingMemoryBound(to: Float.self)
        pool.run(tasks: tasks) { t in
            let tmp = buf + t * cols
            let r0 = t * perTask, r1 = min(rows, r0 + perTask)
            if r0 >= r1 { return }
            for r in r0..<r1 {
                dequantizeRow(w.type, w.row(r), tmp, count: cols)
                for b in 0..<batch { output[b * outStride + r] = dot(tmp, input + b * inStride, count: cols) }
            }
        }
    }
}
