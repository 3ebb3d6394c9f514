/// A row-major weight matrix stored in GGUF layout: `rows` rows of `cols` elements, each row `type.byteCount(elements: cols)` bytes.
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer

    public init(type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer) {
        precondition(cols % type.blockSize == 0, "cols must be a multiple of the block size")
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
    }

    /// Bytes of one stored row.
    @inlinable public var rowBytes: Int { cols / type.blockSize * type.blockBytes }
    /// Start of row `r`.
    @inlinable public func row(_ r: Int) -> UnsafeRawPointer { data + r * rowBytes }
}

/// Matrix multiplication engine with reusable scratch (no heap allocation per call once warmed up).
public final class MatMul: @unchecked Sendable {
    public let pool: ThreadPool
    private var scratch: UnsafeMutableRawPointer?
    private var scratchBytes = 0

    public init(pool: ThreadPool) {
        self.pool = pool
    }

    deinit { scratch?.deallocate() }

    func ensureScratch(_ bytes: Int) -> UnsafeMutableRawPointer {
        if bytes > scratchBytes {
            scratch?.deallocate()
            scratchBytes = max(bytes, scratchBytes * 3 / 2)
            scratch = .allocate(byteCount: scratchBytes, alignment: 64)
        }
        return scratch!
    }

    /// output[b*outStride + r] = sum_c W[r, c] * input[b*inStride + c] for b in 0..<batch, r in 0..<w.rows.
    public func multiply(_ w: WeightMatrix, input: UnsafePointer<Float>, inStride: Int, batch: Int,
                         output: UnsafeMutablePointer<Float>, outStride: Int) {
        if batch <= 0 || w.rows == 0 { return }
        let tasks = min(w.rows, pool.threadCount * 4)
        let perTask = (w.rows + tasks - 1) / tasks
        let cols = w.cols
        let buf = ensureScratch(tasks * cols * 4).assumingMemoryBound(to: Float.self)
        pool.run(tasks: tasks) { t in
            let tmp = buf + t * cols
            let r0 = t * perTask, r1 = min(w.rows, r0 + perTask)
            if r0 >= r1 { return }
            for r in r0..<r1 {
                dequantizeRow(w.type, w.row(r), tmp, count: cols)
                for b in 0..<batch {
                    output[b * outStride + r] = dot(tmp, input + b * inStride, count: cols)
                }
            }
        }
    }
}
