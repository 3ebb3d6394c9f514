// The Spec-Bench and GSM8K line parsers (JSONL from the input) and GSM8K's answer extraction.
// Invariants: a typed error or a dataset; never traps; an extracted answer is a number that normalizes.
import Foundation
import SpecDecBench

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDatasets(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? BenchDataset(jsonl: text)
    _ = try? GSM8KDataset(jsonl: text)
    if let answer = GSM8K.extractAnswer(from: text) {
        precondition(!answer.isEmpty, "an empty answer was extracted")
    }
    _ = GSM8K.normalize(number: text)
    return 0
}
