import Foundation
import XCTest
@testable import SpecDecKernels

/// Throughput report for the matrix kernels; runs only with SPECDEC_KERNEL_BENCH=1 (use a release build).
final class SpeedReportTests: XCTestCase {
    func testMatMulSpeedReport() throws {
        guard ProcessInfo.processInfo.environment["SPECDEC_KERNEL_BENCH"] == "1" else {
            throw XCTSkip("set SPECDEC_KERNEL_BENCH=1 to run the speed report")
        }
        let pool = ThreadPool(threads: 2)
        let mm = MatMul(pool: pool)
        let rows = 1536, cols = 8960
        let formats: [GGMLType] = [.q4_K, .q6_K, .q5_0, .q8_0, .q4_0, .q5_K, .f16]
        print("MatMul \(rows)x\(cols), \(pool.threadCount) threads, vector kernels: \(MatMul.vectorKernelsAvailable)")
        for type in formats {
            let rowBytes = type.byteCount(elements: cols)!
            let bytes = UnsafeMutableRawPointer.allocate(byteCount: rows * rowBytes, alignment: 64)
            defer { bytes.deallocate() }
            let src = randomFloats(cols, seed: 5)
            src.withUnsafeBufferPointer { s in
                quantizeRow(type, s.baseAddress!, bytes, count: cols)
            }
            for r in 1..<rows { (bytes + r * rowBytes).copyMemory(from: bytes, byteCount: rowBytes) }
            let w = WeightMatrix(type: type, rows: rows, cols: cols, data: bytes)
            var line = "\(type) (\(String(format: "%.1f", Double(rows * rowBytes) / 1e6)) MB):"
            var base = 0.0
            for batch in [1, 2, 4, 8, 16] {
                let x = randomFloats(batch * cols, seed: 6)
                var out = [Float](repeating: 0, count: batch * rows)
                var best = Double.infinity
                x.withUnsafeBufferPointer { xp in
                    out.withUnsafeMutableBufferPointer { op in
                        for _ in 0..<3 {  // warm up
                            mm.multiply(w, input: xp.baseAddress!, inStride: cols, batch: batch, output: op.baseAddress!, outStride: rows)
                        }
                        for _ in 0..<7 {
                            let t0 = DispatchTime.now().uptimeNanoseconds
                            let reps = 10
                            for _ in 0..<reps {
                                mm.multiply(w, input: xp.baseAddress!, inStride: cols, batch: batch, output: op.baseAddress!, outStride: rows)
                            }
                            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / Double(reps))
                        }
                    }
                }
                if batch == 1 { base = best }
                let gbs = Double(rows * rowBytes) / best
                line += String(format: "  b%d %.3f ms %.1f GB/s (x%.2f)", batch, best / 1e6, gbs, best / base)
            }
            print(line)
        }
    }
}
