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
    /// The same matrix repacked into one kernel set's layout (see ``PackedWeights``), or nil. That set's
    /// kernels read it when present; other sets and the exact path read `data`.
    public let packed: UnsafeRawPointer?
    /// The kernel set whose layout `packed` is in (nil exactly when there is no packed copy).
    public let packedKernels: KernelSet?

    public init(type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer, packed: UnsafeRawPointer? = nil,
                packedKernels: KernelSet? = nil) {
        precondition(rows >= 0 && cols >= 0 && cols % type.blockSize == 0, "cols must be a multiple of the block size")
        precondition((packed == nil) == (packedKernels == nil), "a packed copy names the kernel set it is packed for")
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
        self.packed = packed
        self.packedKernels = packedKernels
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
/// products: AVX-512 VNNI `vpdpbusd` or AVX2 `vpmaddubsw`/`vpmaddwd` in SpecDecCKernels, or portable Swift
/// SIMD (``KernelSet``). See Activations.swift and ActivationsAVX2.swift for the layouts.
/// One `MatMul` must not be used from two threads at once (it owns the scratch); use one per thread.
public final class MatMul: @unchecked Sendable {
    public let pool: ThreadPool
    /// Kernels in use (``KernelSet/active`` unless changed); tests switch sets to compare them. Must be
    /// a set the CPU supports.
    public var backend: KernelSet = .active {
        didSet { precondition(backend.isSupported, "MatMul: the \(backend) kernels do not run on this CPU") }
    }
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
        multiply(Product(w, output: output, outStride: outStride), nil, nil, input: input, inStride: inStride, batch: batch)
    }

    /// One product of a group sharing an input: `w` times the input, written to `output` (batch column b
    /// at output + b*outStride).
    public struct Product {
        public var w: WeightMatrix
        public var output: UnsafeMutablePointer<Float>
        public var outStride: Int

        public init(_ w: WeightMatrix, output: UnsafeMutablePointer<Float>, outStride: Int) {
            self.w = w
            self.output = output
            self.outStride = outStride
        }
    }

    /// Up to three products of one input (an attention layer's query, key and value projections; a
    /// feed-forward layer's gate and up): the input is quantized once per weight format, and the rows
    /// of all the matrices run in one dispatch to the pool. Each result is the one `multiply` gives
    /// for that matrix alone, bit for bit. The matrices must have the same number of columns.
    public func multiply(_ p0: Product, _ p1: Product?, _ p2: Product? = nil, input: UnsafePointer<Float>, inStride: Int,
                         batch: Int) {
        precondition(p2 == nil || p1 != nil, "products fill from the first")
        let products = Three(p0, p1 ?? p0, p2 ?? p0)
        let count = p2 != nil ? 3 : p1 != nil ? 2 : 1
        let cols = p0.w.cols
        for i in 0..<count {
            let p = products[i]
            precondition(p.w.cols == cols, "the products of a group share their input: same column count")
            precondition(batch <= 1 || (inStride >= cols && p.outStride >= p.w.rows), "strides too small")
        }
        if batch <= 0 { return }
        if cols == 0 || exact {
            for i in 0..<count where products[i].w.rows > 0 {
                let p = products[i]
                if cols == 0 {
                    for b in 0..<batch { for r in 0..<p.w.rows { p.output[b * p.outStride + r] = 0 } }
                } else {
                    multiplyExact(p.w, input: input, inStride: inStride, batch: batch, output: p.output, outStride: p.outStride)
                }
            }
            return
        }
        let threads = pool.threadCount
        // Two row ranges per thread and matrix: each thread streams long contiguous ranges (the hardware
        // prefetcher stays ahead) and a call costs few task claims, with some slack left for a late
        // thread. Measured against 8 per thread (`specdec speed`, batch sizes interleaved in one
        // process): 6-23% faster forwards for B <= 8, the same for B >= 32.
        var tasks = Three(0, 0, 0), firstTask = Three(0, 0, 0)
        var totalTasks = 0
        for i in 0..<count {
            let rows = products[i].w.rows
            tasks[i] = rows == 0 ? 0 : max(1, min(threads * 2, rows / 16))
            firstTask[i] = totalTasks
            totalTasks += tasks[i]
        }
        if totalTasks == 0 { return }
        let unpackBytes = totalTasks * 256
        // Activations of each weight format, quantized once: a product reuses the buffer of the first
        // product of its format (the float formats read the input in place).
        var actOffset = Three(0, 0, 0)
        var owner = Three(0, 1, 2)  // the first product of each product's format
        var actBytes = 0
        for i in 0..<count {
            if let j = (0..<i).first(where: { products[$0].w.type == products[i].w.type }) {
                actOffset[i] = actOffset[j]
                owner[i] = j
                continue
            }
            actOffset[i] = actBytes
            actBytes += batch * activationStride(products[i].w.type, cols: cols)
        }
        let base = ensureScratch(unpackBytes + actBytes)
        for i in 0..<count where owner[i] == i {
            quantize(products[i].w.type, input: input, inStride: inStride, batch: batch, cols: cols,
                     into: base + unpackBytes + actOffset[i])
        }

        let kernels = backend
        pool.run(tasks: totalTasks) { t in
            let i = t < firstTask[1] || count == 1 ? 0 : t < firstTask[2] || count == 2 ? 1 : 2
            let p = products[i]
            let w = p.w, type = w.type
            let perTask = (w.rows + tasks[i] - 1) / tasks[i]
            let r0 = (t - firstTask[i]) * perTask, r1 = min(w.rows, r0 + perTask)
            if r0 >= r1 { return }
            let act: UnsafeRawPointer
            let actStride: Int
            switch type {
            case .f32, .f16, .bf16:
                act = UnsafeRawPointer(input)
                actStride = inStride * 4
            default:
                act = UnsafeRawPointer(base + unpackBytes + actOffset[i])
                actStride = self.activationStride(type, cols: cols)
            }
            // A matrix packed for this set has its own kernels (type number + 100), same activations.
            let packed = w.packedKernels == kernels ? w.packed : nil
            let kernelData = packed ?? w.data
            let kernelType = Int32(type.rawValue) + (packed != nil ? PackedWeights.kernelTypeOffset : 0)
            switch kernels {
            case .avx512:
                sdk_matmul_rows(kernelType, kernelData, w.rowBytes, r0, r1, cols, act, actStride, batch, p.output, p.outStride)
            case .avx2:
                sdk_avx2_matmul_rows(kernelType, kernelData, w.rowBytes, r0, r1, cols, act, actStride, batch, p.output,
                                     p.outStride)
            case .portable:
                portableRows(type, w.data, rowBytes: w.rowBytes, r0, r1, cols: cols, act, actStride: actStride,
                             batch: batch, p.output, outStride: p.outStride, unpacked: base + 256 * t)
            }
        }
    }

    /// Bytes between batch columns of the quantized activations for weights of `type` (Activations.swift);
    /// 0 for the float formats, which read the input in place.
    private func activationStride(_ type: GGMLType, cols: Int) -> Int {
        switch type {
        case .f32, .f16, .bf16: return 0
        case .q4_K, .q5_K, .q6_K: return ActivationLayout.kStride(cols)
        default: return ActivationLayout.legacyStride(cols)
        }
    }

    /// Quantizes `batch` input columns into the activation layout of `type` at `dst` (nothing for the
    /// float formats), for the kernels in use.
    private func quantize(_ type: GGMLType, input: UnsafePointer<Float>, inStride: Int, batch: Int, cols: Int,
                          into dst: UnsafeMutableRawPointer) {
        // Small activations are quantized on the calling thread: cheaper than waking the pool.
        let quantizePool = batch * cols >= 32768 ? pool : serialPool
        let kernels = backend
        switch type {
        case .f32, .f16, .bf16:
            return
        case .q4_K, .q5_K, .q6_K:
            let actStride = ActivationLayout.kStride(cols)
            let nb = cols / 256, chunk = 8
            let chunks = (nb + chunk - 1) / chunk
            quantizePool.run(tasks: batch * chunks) { t in
                let c = t / chunks, b0 = (t % chunks) * chunk, n = min(chunk, nb - b0)
                let x = input + c * inStride + 256 * b0
                let qs = dst + c * actStride + 256 * b0
                let meta = dst + c * actStride + cols + ActivationLayout.kMetaBytes * b0
                let q = qs.assumingMemoryBound(to: Int8.self), m = meta.assumingMemoryBound(to: UInt8.self)
                switch kernels {
                case .avx512: sdk_quantize_act_k(x, n, q, m, Int32(type.rawValue))
                case .avx2: sdk_avx2_quantize_act_k(x, n, q, m, Int32(type.rawValue))
                case .portable: quantizeActivationsK(x, blocks: n, qs: qs, meta: meta, type: type, permuted: false)
                }
            }
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0:
            let actStride = ActivationLayout.legacyStride(cols)
            let nsb = ActivationLayout.superBlocks(cols), qsBytes = 256 * nsb, chunk = 8
            let chunks = (nsb + chunk - 1) / chunk
            quantizePool.run(tasks: batch * chunks) { t in
                let c = t / chunks, s0 = (t % chunks) * chunk
                let n = min(256 * chunk, cols - 256 * s0)
                let x = input + c * inStride + 256 * s0
                let qs = dst + c * actStride + 256 * s0
                let meta = dst + c * actStride + qsBytes + ActivationLayout.kMetaBytes * s0
                let q = qs.assumingMemoryBound(to: Int8.self), m = meta.assumingMemoryBound(to: UInt8.self)
                switch kernels {
                case .avx512: sdk_quantize_act_legacy(x, n, q, m, Int32(type.rawValue))
                case .avx2: sdk_avx2_quantize_act_legacy(x, n, q, m, Int32(type.rawValue))
                case .portable: quantizeActivationsLegacy(x, count: n, qs: qs, meta: meta, type: type, permuted: false)
                }
            }
        case .q8_1, .q8_K:
            preconditionFailure("MatMul: \(type) is an activation format, not supported as weights")
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
        let kernels = backend
        let buf = ensureScratch(tasks * cols * 4).assumingMemoryBound(to: Float.self)
        pool.run(tasks: tasks) { t in
            let tmp = buf + t * cols
            let r0 = t * perTask, r1 = min(rows, r0 + perTask)
            if r0 >= r1 { return }
            for r in r0..<r1 {
                dequantizeRow(w.type, w.row(r), tmp, count: cols)
                for b in 0..<batch { output[b * outStride + r] = dot(tmp, input + b * inStride, count: cols, kernels: kernels) }
            }
        }
    }
}

/// Three values of one type addressed by index 0...2 (the products of a group, without an array).
private struct Three<T> {
    var a: T, b: T, c: T
    init(_ a: T, _ b: T, _ c: T) { self.a = a; self.b = b; self.c = c }
    subscript(_ i: Int) -> T {
        get { i == 0 ? a : i == 1 ? b : c }
        set { if i == 0 { a = newValue } else if i == 1 { b = newValue } else { c = newValue } }
    }
}
