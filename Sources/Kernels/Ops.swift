import SpecDecCKernels

/// Float vector helpers used by the model (SIMD, numerically careful).
/// `dot` and `axpy` use the C versions of the active ``KernelSet`` (AVX-512 or AVX2; the Swift code is
/// built for baseline x86-64, i.e. 4-wide SSE); `dotPortable`/`axpyPortable` are the Swift references.

/// Dot product of two float vectors.
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    dot(a, b, count: count, kernels: KernelSet.active)
}

/// `dot` with the given kernel set (one the CPU supports).
@inline(__always)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, kernels: KernelSet) -> Float {
    switch kernels {
    case .avx512: return sdk_dot_f32(a, b, count)
    case .avx2: return sdk_avx2_dot_f32(a, b, count)
    case .portable: return dotPortable(a, b, count: count)
    }
}

/// y += a * x
public func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    axpy(a, x, y, count: count, kernels: KernelSet.active)
}

/// `axpy` with the given kernel set (one the CPU supports).
@inline(__always)
public func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, kernels: KernelSet) {
    switch kernels {
    case .avx512: sdk_axpy_f32(a, x, y, count)
    case .avx2: sdk_avx2_axpy_f32(a, x, y, count)
    case .portable: axpyPortable(a, x, y, count: count)
    }
}

/// Swift SIMD reference of `dot`.
func dotPortable(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 32 <= count {
        acc0 += ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
            * rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        acc1 += ra.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD16<Float>.self)
            * rb.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD16<Float>.self)
        i += 32
    }
    if i + 16 <= count {
        acc0 += ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
            * rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        i += 16
    }
    var s = (acc0 + acc1).sum()
    while i < count { s += a[i] * b[i]; i += 1 }
    return s
}

/// Swift SIMD reference of `axpy`.
func axpyPortable(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
    let va = SIMD16<Float>(repeating: a)
    while i + 16 <= count {
        let v = ry.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
            + va * rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        ry.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD16<Float>.self)
        i += 16
    }
    while i < count { y[i] += a * x[i]; i += 1 }
}

/// out[i] = x[i] / sqrt(mean(x²) + eps) * weight[i]. `out` may alias `x`.
public func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                    count: Int, eps: Float) {
    guard count > 0 else { return }
    let ss = dot(x, x, count: count)
    let scale = 1 / (ss / Float(count) + eps).squareRoot()
    var i = 0
    let rx = UnsafeRawPointer(x), rw = UnsafeRawPointer(weight), ro = UnsafeMutableRawPointer(out)
    while i + 16 <= count {
        let v = rx.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self) * scale
            * rw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
        ro.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD16<Float>.self)
        i += 16
    }
    while i < count { out[i] = x[i] * scale * weight[i]; i += 1 }
}

/// In-place numerically stable softmax of `count` floats (subtracts the maximum first).
public func softmax(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
    guard count > 0 else { return }
    var m = -Float.infinity
    for i in 0..<count { m = max(m, buffer[i]) }
    if m == -.infinity {  // all masked: uniform is undefined; produce zeros
        for i in 0..<count { buffer[i] = 0 }
        return
    }
    var sum: Float = 0
    for i in 0..<count {
        let e = fastExp(buffer[i] - m)
        buffer[i] = e
        sum += e
    }
    let inv = 1 / sum
    for i in 0..<count { buffer[i] *= inv }
}

/// In-place numerically stable softmax of the first `count` elements of an array.
public func softmax(_ buffer: inout [Float], count: Int) {
    precondition(count <= buffer.count)
    buffer.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, count: count) }
}

/// exp(x) for x <= 0 with ~1 ulp-level relative error (range reduction + degree-6 polynomial).
@inline(__always)
public func fastExp(_ x: Float) -> Float {
    if x < -87.3 { return 0 }
    if x > 88.7 { return .infinity }
    let log2e: Float = 1.442_695_04
    let k = (x * log2e).rounded()
    // Cody-Waite split of ln2.
    let r = (x - k * 0.693_145_75) - k * 1.428_606_8e-6
    var p: Float = 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let bits = UInt32(bitPattern: Int32(k) + 127) << 23
    return p * Float(bitPattern: bits)
}
