import SpecDecCKernels

/// Vectorized elementwise math of the feed-forward gates (Swift SIMD; no libm call per element).
///
/// `exp` uses Cody-Waite range reduction and the Cephes polynomial (relative error about 1e-7 over
/// the float range); the gates are written as x·sigmoid(…) so that they saturate without overflow.

/// e^x for 16 lanes. Inputs are clamped to [-87.3, 88.3] (results 1.2e-38 ... 2.1e38).
@inline(__always)
public func vectorExp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    var xc = x
    xc.replace(with: 88.3, where: xc .> 88.3)
    xc.replace(with: -87.3, where: xc .< -87.3)
    // k = round(x / ln 2) with the 1.5·2^23 trick: t's low mantissa bits hold k (no int conversion).
    let magic: Float = 12_582_912
    let t = xc * 1.442_695_04 + magic
    let k = t - magic
    let r = xc - k * 0.693_359_375 + k * 2.121_944_4e-4
    var p = SIMD16<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    let y = p * (r * r) + r + 1
    let ki = unsafeBitCast(t, to: SIMD16<Int32>.self) &- 0x4B40_0000
    let bits = (ki &+ 127) &<< 23
    return y * unsafeBitCast(bits, to: SIMD16<Float>.self)
}

@inline(__always)
private func gateLoop(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int,
                      _ f: (SIMD16<Float>) -> SIMD16<Float>) {
    let rg = UnsafeMutableRawPointer(gate), ru = UnsafeRawPointer(up)
    var i = 0
    while i + 16 <= n {
        let g = rg.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        let u = ru.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        rg.storeBytes(of: f(g) * u, toByteOffset: i * 4, as: SIMD16<Float>.self)
        i += 16
    }
    if i < n {
        var g = SIMD16<Float>(repeating: 0), u = SIMD16<Float>(repeating: 0)
        for j in 0..<(n - i) { g[j] = gate[i + j]; u[j] = up[i + j] }
        let r = f(g) * u
        for j in 0..<(n - i) { gate[i + j] = r[j] }
    }
}

/// gate[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + e^-g). The active ``KernelSet``'s C kernel (AVX-512
/// or AVX2), else ``siluGatePortable(_:_:count:)``.
public func siluGate(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count n: Int) {
    siluGate(gate, up, count: n, kernels: KernelSet.active)
}

/// `siluGate` with the given kernel set (one the CPU supports).
public func siluGate(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count n: Int, kernels: KernelSet) {
    switch kernels {
    case .avx512: sdk_silu_gate_f32(gate, up, n)
    case .avx2: sdk_avx2_silu_gate_f32(gate, up, n)
    case .portable: siluGatePortable(gate, up, count: n)
    }
}

/// The Swift SIMD version of ``siluGate(_:_:count:)``.
public func siluGatePortable(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count n: Int) {
    gateLoop(gate, up, n) { g in g / (1 + vectorExp(-g)) }
}

/// gate[i] = gelu_tanh(gate[i]) * up[i], with gelu_tanh(g) = ½g(1 + tanh(u)) = g / (1 + e^(-2u)),
/// u = √(2/π)(g + 0.044715 g³). The active ``KernelSet``'s C kernel, else ``geluGatePortable(_:_:count:)``.
public func geluGate(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count n: Int) {
    geluGate(gate, up, count: n, kernels: KernelSet.active)
}

/// `geluGate` with the given kernel set (one the CPU supports).
public func geluGate(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count n: Int, kernels: KernelSet) {
    switch kernels {
    case .avx512: sdk_gelu_gate_f32(gate, up, n)
    case .avx2: sdk_avx2_gelu_gate_f32(gate, up, n)
    case .portable: geluGatePortable(gate, up, count: n)
    }
}

/// The Swift SIMD version of ``geluGate(_:_:count:)``.
public func geluGatePortable(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count n: Int) {
    gateLoop(gate, up, n) { g in
        let u = 0.797_884_56 * (g + 0.044715 * g * g * g)
        return g / (1 + vectorExp(-2 * u))
    }
}
