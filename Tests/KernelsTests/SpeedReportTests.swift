import Foundation
import XCTest
@testable import SpecDecKernels

/// Throughput report for the matrix kernels; runs only with SPECDEC_KERNEL_BENCH=1. Use a release build:
///   SPECDEC_KERNEL_BENCH=1 swift test -c release -Xswiftc -enable-testing --scratch-path .build-kernels \
///     --filter testMatMulSpeedReport
/// Optional: SPECDEC_KERNEL_BENCH_FORMATS (e.g. "Q4_K,F16"), _THREADS (default 2), _ROWS (default 1536),
/// _PORTABLE=1 (Swift kernels), _HOT_ONLY=1. Times are the best of 5 runs; GB/s counts weight bytes.
final class SpeedReportTests: XCTestCase {
    /// Matrices cycled through for the cold measurement (8 × 7.7 MB of Q4_K > 32 MB L3).
    static let copies = 8

    func testMatMulSpeedReport() throws {
        guard ProcessInfo.processInfo.environment["SPECDEC_KERNEL_BENCH"] == "1" else {
            throw XCTSkip("set SPECDEC_KERNEL_BENCH=1 to run the speed report")
        }
        let threads = Int(ProcessInfo.processInfo.environment["SPECDEC_KERNEL_BENCH_THREADS"] ?? "") ?? 2
        let pool = ThreadPool(threads: threads)
        let mm = MatMul(pool: pool)
        if ProcessInfo.processInfo.environment["SPECDEC_KERNEL_BENCH_PORTABLE"] == "1" { mm.backend = .portable }
        let rows = Int(ProcessInfo.processInfo.environment["SPECDEC_KERNEL_BENCH_ROWS"] ?? "") ?? 1536, cols = 8960
        let formats = (ProcessInfo.processInfo.environment["SPECDEC_KERNEL_BENCH_FORMATS"] ?? "Q4_K,Q6_K,Q5_0,Q8_0")
            .split(separator: ",").compactMap { name in GGMLType.allCases.first { $0.description == name } }
        print("MatMul \(rows)x\(cols), \(pool.threadCount) threads, kernels: \(mm.backend)")
        print("hot: one matrix, repeated (stays in L3); cold: \(Self.copies) different matrices in turn (> L3, from DRAM)")
        for type in formats {
            let rowBytes = type.byteCount(elements: cols)!
            let bytes = rows * rowBytes
            let store = UnsafeMutableRawPointer.allocate(byteCount: Self.copies * bytes, alignment: 64)
            defer { store.deallocate() }
            let src = randomFloats(16 * cols, seed: 5)
            src.withUnsafeBufferPointer { s in
                for r in 0..<16 { quantizeRow(type, s.baseAddress! + r * cols, store + r * rowBytes, count: cols) }
            }
            for r in 16..<(rows * Self.copies) { (store + r * rowBytes).copyMemory(from: store + (r % 16) * rowBytes, byteCount: rowBytes) }
            let mats = (0..<Self.copies).map { WeightMatrix(type: type, rows: rows, cols: cols, data: store + $0 * bytes) }
            let modes = ProcessInfo.processInfo.environment["SPECDEC_KERNEL_BENCH_HOT_ONLY"] == "1" ? [false] : [false, true]
            for cold in modes {
                var line = "\(type) \(cold ? "cold" : "hot ") (\(String(format: "%.1f", Double(bytes) / 1e6)) MB):"
                var base = 0.0
                for batch in [1, 2, 4, 8, 16] {
                    let x = randomFloats(batch * cols, seed: 6)
                    var out = [Float](repeating: 0, count: batch * rows)
                    var best = Double.infinity
                    x.withUnsafeBufferPointer { xp in
                        out.withUnsafeMutableBufferPointer { op in
                            var i = 0
                            func once() {
                                let w = cold ? mats[i % mats.count] : mats[0]
                                i += 1
                                mm.multiply(w, input: xp.baseAddress!, inStride: cols, batch: batch,
                                            output: op.baseAddress!, outStride: rows)
                            }
                            for _ in 0..<Self.copies { once() }  // warm up
                            for _ in 0..<5 {
                                let reps = 2 * Self.copies
                                let t0 = DispatchTime.now().uptimeNanoseconds
                                for _ in 0..<reps { once() }
                                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / Double(reps))
                            }
                        }
                    }
                    if batch == 1 { base = best }
                    line += String(format: "  b%d %.3f ms %.1f GB/s (x%.2f)", batch, best / 1e6, Double(bytes) / best, best / base)
                }
                print(line)
            }
        }
    }
}
