import XCTest
@testable import SpecDecKernels

final class KernelSetTests: XCTestCase {
    func testAutomaticChoiceIsTheFastestSupportedSet() {
        XCTAssertEqual(KernelSet.choose(forced: nil).set, KernelSet.supported[0])
        XCTAssertNil(KernelSet.choose(forced: nil).error)
        XCTAssertNil(KernelSet.choose(forced: "auto").error)
        XCTAssertEqual(KernelSet.supported.last, .portable, "the portable set runs everywhere")
        let order = KernelSet.allCases
        XCTAssertEqual(KernelSet.supported, order.filter(\.isSupported))
        XCTAssertEqual(order, [.avx512, .avx2, .portable], "dispatch order")
    }

    func testEverySupportedSetCanBeForced() {
        for k in KernelSet.supported {
            let c = KernelSet.choose(forced: k.rawValue.uppercased())
            XCTAssertEqual(c.set, k)
            XCTAssertNil(c.error)
        }
    }

    func testForcingAnUnsupportedOrUnknownSetIsAClearError() {
        for k in KernelSet.allCases where !k.isSupported {
            let c = KernelSet.choose(forced: k.rawValue)
            XCTAssertEqual(c.set, KernelSet.best)
            XCTAssertEqual(c.error?.contains("does not support the \(k.rawValue) kernels"), true, c.error ?? "no error")
        }
        let c = KernelSet.choose(forced: "neon")
        XCTAssertEqual(c.set, KernelSet.best)
        XCTAssertEqual(c.error?.contains("unknown kernel set"), true)
    }
}
