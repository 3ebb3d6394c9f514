import Foundation
import SpecDecKernels

// Small vector operations of the forward pass. Hot loops take unsafe pointers and never allocate.

/// out = x / rms(x) * weight (out may alias x), with the kernels' vectorized ``rmsNorm``.
@inline(__always)
func rmsNormalize(_ x: UnsafePointer<Float>, _ weight: [Float], _ out: UnsafeMutablePointer<Float>, _ n: Int, _ eps: Float) {
    weight.withUnsafeBufferPointer { w in rmsNorm(x, w.baseAddress!, out, count: n, eps: eps) }
}

@inline(__always)
func rmsNormalize(_ x: UnsafeMutablePointer<Float>, _ weight: [Float], _ out: UnsafeMutablePointer<Float>, _ n: Int, _ eps: Float) {
    rmsNormalize(UnsafePointer(x), weight, out, n, eps)
}

/// x *= s
@inline(__always) func scale(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ s: Float) {
    for i in 0..<n { x[i] *= s }
}

/// x += y
@inline(__always) func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) {
    for i in 0..<n { x[i] += y[i] }
}

@inline(__always) func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    addInPlace(x, UnsafePointer(y), n)
}

@inline(__always) func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: [Float], _ n: Int) {
    y.withUnsafeBufferPointer { addInPlace(x, $0.baseAddress!, n) }
}

/// Rotates one head in place with precomputed cos/sin of its position.
@inline(__always)
func applyRoPE(_ x: UnsafeMutablePointer<Float>, _ cosT: UnsafePointer<Float>, _ sinT: UnsafePointer<Float>, _ hd: Int, _ style: RoPEStyle) {
    let half = hd / 2
    switch style {
    case .neox:
        for i in 0..<half {
            let a = x[i], b = x[i + half]
            x[i] = a * cosT[i] - b * sinT[i]
            x[i + half] = a * sinT[i] + b * cosT[i]
        }
    case .interleaved:
        for i in 0..<half {
            let a = x[2 * i], b = x[2 * i + 1]
            x[2 * i] = a * cosT[i] - b * sinT[i]
            x[2 * i + 1] = a * sinT[i] + b * cosT[i]
        }
    }
}

/// gate = silu(gate) * up over `n` values, split over `pool` when large.
func siluGate(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int, pool: ThreadPool,
              kernels: KernelSet) {
    elementwise(n, pool: pool) { lo, hi in siluGate(gate + lo, up + lo, count: hi - lo, kernels: kernels) }
}

/// gate = gelu_tanh(gate) * up over `n` values, split over `pool` when large.
func geluGate(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int, pool: ThreadPool,
              kernels: KernelSet) {
    elementwise(n, pool: pool) { lo, hi in geluGate(gate + lo, up + lo, count: hi - lo, kernels: kernels) }
}

/// Runs `body` over [0, n) in 16-aligned chunks on the pool (inline when small).
@inline(__always)
private func elementwise(_ n: Int, pool: ThreadPool, _ body: (Int, Int) -> Void) {
    let tasks = n >= 8192 ? pool.threadCount : 1
    if tasks == 1 { body(0, n); return }
    let per = ((n + tasks - 1) / tasks + 15) / 16 * 16
    pool.run(tasks: tasks) { t in
        let lo = t * per, hi = min(n, lo + per)
        if lo < hi { body(lo, hi) }
    }
}
