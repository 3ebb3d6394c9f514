import SpecDecCKernels

/// Attention of several query heads that share one key/value head (grouped-query attention) over
/// `positions` cached rows: for each head j,
/// `output[j·outputStride ..< j·outputStride + headDim] = softmax(scale · K·q_j) · V`.
///
/// With the AVX-512 or AVX2 kernels (the active ``KernelSet``) the C kernel loads each key and value row
/// once for up to four heads; otherwise
/// ``attendPortable(queries:queryStride:heads:keys:values:rowStride:positions:headDim:scale:scores:output:outputStride:)``
/// runs. Either way a head's result does not depend on `heads` (how the caller groups heads), so a
/// batched forward gives every row the values a single-token forward gives it.
///
/// - Parameters:
///   - queries: the first head's query; head j at `queries + j·queryStride`.
///   - keys, values: the first cached position's key and value rows of the shared head, `rowStride`
///     floats apart.
///   - scores: scratch of `heads · positions` floats.
public func attend(queries: UnsafePointer<Float>, queryStride: Int, heads: Int, keys: UnsafePointer<Float>,
                   values: UnsafePointer<Float>, rowStride: Int, positions: Int, headDim: Int, scale: Float,
                   scores: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, outputStride: Int) {
    attend(queries: queries, queryStride: queryStride, heads: heads, keys: keys, values: values, rowStride: rowStride,
           positions: positions, headDim: headDim, scale: scale, scores: scores, output: output, outputStride: outputStride,
           kernels: KernelSet.active)
}

/// `attend` with the given kernel set (one the CPU supports).
public func attend(queries: UnsafePointer<Float>, queryStride: Int, heads: Int, keys: UnsafePointer<Float>,
            values: UnsafePointer<Float>, rowStride: Int, positions: Int, headDim: Int, scale: Float,
            scores: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, outputStride: Int,
            kernels: KernelSet) {
    attend(queries: queries, queryStride: queryStride, heads: heads, keys: keys, values: values, rowStride: rowStride,
           rows: nil, positions: positions, headDim: headDim, scale: scale, scores: scores, output: output,
           outputStride: outputStride, kernels: kernels)
}

/// `attend` over the key and value rows `keys + rows[t]·rowStride` (t < positions) instead of
/// `positions` consecutive rows, or consecutive rows when `rows` is nil: a node of a token tree
/// attends to the cached context and its own ancestors only. Every score and output equals what
/// `attend` computes over a contiguous copy of the same rows, so a tree node gets exactly the values
/// a forward of its root-to-node path gives it.
public func attend(queries: UnsafePointer<Float>, queryStride: Int, heads: Int, keys: UnsafePointer<Float>,
                   values: UnsafePointer<Float>, rowStride: Int, rows: UnsafePointer<Int>?, positions: Int, headDim: Int,
                   scale: Float, scores: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, outputStride: Int,
                   kernels: KernelSet) {
    if heads <= 0 || positions <= 0 { return }
    if let rows {
        switch kernels {
        case .avx512:
            sdk_attend_f32_rows(queries, queryStride, heads, keys, values, rows, rowStride, positions, headDim, scale, scores,
                                output, outputStride)
        case .avx2:
            sdk_avx2_attend_f32_rows(queries, queryStride, heads, keys, values, rows, rowStride, positions, headDim, scale,
                                     scores, output, outputStride)
        case .portable:
            attendPortable(queries: queries, queryStride: queryStride, heads: heads, keys: keys, values: values,
                           rowStride: rowStride, rows: rows, positions: positions, headDim: headDim, scale: scale,
                           scores: scores, output: output, outputStride: outputStride)
        }
        return
    }
    switch kernels {
    case .avx512:
        sdk_attend_f32(queries, queryStride, heads, keys, values, rowStride, positions, headDim, scale, scores,
                       output, outputStride)
        return
    case .avx2:
        sdk_avx2_attend_f32(queries, queryStride, heads, keys, values, rowStride, positions, headDim, scale, scores,
                            output, outputStride)
        return
    case .portable:
        break
    }
    attendPortable(queries: queries, queryStride: queryStride, heads: heads, keys: keys, values: values,
                   rowStride: rowStride, positions: positions, headDim: headDim, scale: scale, scores: scores,
                   output: output, outputStride: outputStride)
}

/// The Swift reference of ``attend(queries:queryStride:heads:keys:values:rowStride:positions:headDim:scale:scores:output:outputStride:)``:
/// one head at a time (``softmax(_:count:)`` over the scores).
public func attendPortable(queries: UnsafePointer<Float>, queryStride: Int, heads: Int, keys: UnsafePointer<Float>,
                           values: UnsafePointer<Float>, rowStride: Int, positions n: Int, headDim: Int, scale: Float,
                           scores: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, outputStride: Int) {
    attendPortable(queries: queries, queryStride: queryStride, heads: heads, keys: keys, values: values,
                   rowStride: rowStride, rows: nil, positions: n, headDim: headDim, scale: scale, scores: scores,
                   output: output, outputStride: outputStride)
}

/// ``attendPortable(queries:queryStride:heads:keys:values:rowStride:positions:headDim:scale:scores:output:outputStride:)``
/// over the rows `rows[t]` (consecutive rows when nil).
public func attendPortable(queries: UnsafePointer<Float>, queryStride: Int, heads: Int, keys: UnsafePointer<Float>,
                           values: UnsafePointer<Float>, rowStride: Int, rows: UnsafePointer<Int>?, positions n: Int,
                           headDim: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
                           output: UnsafeMutablePointer<Float>, outputStride: Int) {
    for j in 0..<heads {
        let q = queries + j * queryStride
        let s = scores + j * n
        for t in 0..<n { s[t] = dotPortable(q, keys + (rows?[t] ?? t) * rowStride, count: headDim) * scale }
        softmax(s, count: n)
        let out = output + j * outputStride
        out.initialize(repeating: 0, count: headDim)
        for t in 0..<n { axpyPortable(s[t], values + (rows?[t] ?? t) * rowStride, out, count: headDim) }
    }
}
