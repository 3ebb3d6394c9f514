import XCTest
@testable import SpecDecKernels

final class MemoryBandwidthTests: XCTestCase {
    func testProbeSumsEveryByteItReads() {
        // 1024 floats: 0, 1, ..., 1023 (exact in Float)
        let values = (0..<1024).map(Float.init)
        let sum = values.withUnsafeBytes { MemoryBandwidthProbe.sum($0.baseAddress!, bytes: 4096) }
        XCTAssertEqual(sum, 1023 * 1024 / 2)
        let half = values.withUnsafeBytes { MemoryBandwidthProbe.sum($0.baseAddress!, bytes: 2048) }
        XCTAssertEqual(half, 511 * 512 / 2)
    }

    func testProbeReportsAPositiveBandwidthAndZeroWhenGivenNothingToRead() {
        let pool = ThreadPool(threads: 2)
        let gbps = MemoryBandwidthProbe(bytes: 16 << 20, passes: 2).measure(pool: pool)
        XCTAssertGreaterThan(gbps, 0)
        XCTAssertTrue(gbps.isFinite)
        XCTAssertEqual(MemoryBandwidthProbe(bytes: 0).measure(pool: pool), 0)
        XCTAssertEqual(MemoryBandwidthProbe(bytes: 300).measure(pool: pool), 0, "less than 256 bytes per thread")
        XCTAssertEqual(MemoryBandwidthProbe(bytes: 1 << 20, passes: 0).measure(pool: pool), 0)
    }
}
