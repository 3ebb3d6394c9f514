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

/// gate = silu(gate) * up
@inline(__always) func siluGate(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
    for i in 0..<n {
        let g = gate[i]
        gate[i] = g / (1 + expf(-g)) * up[i]
    }
}

@inline(__always) func siluGate(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafeMutablePointer<Float>, _ n: Int) {
    siluGate(gate, UnsafePointer(up), n)
}

/// gate = gelu_tanh(gate) * up
@inline(__always) func geluGate(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
    let c: Float = 0.797_884_56  // sqrt(2/pi)
    for i in 0..<n {
        let g = gate[i]
        gate[i] = 0.5 * g * (1 + tanhf(c * (g + 0.044715 * g * g * g))) * up[i]
    }
}

@inline(__always) func geluGate(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafeMutablePointer<Float>, _ n: Int) {
    geluGate(gate, UnsafePointer(up), n)
}
