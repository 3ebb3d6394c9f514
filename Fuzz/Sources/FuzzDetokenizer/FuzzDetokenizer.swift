// The streaming detokenizer on arbitrary token sequences (any ids, in or out of the vocabulary).
// Invariants: never traps; every piece it releases is valid UTF-8 (it is a Swift String built by
// validation, so this checks the bytes it emits), and the pieces joined equal its own final text.
import Foundation
import SpecDecGGUF
import SpecDecTestSupport
import SpecDecTokenizer
import FuzzSupport

nonisolated(unsafe) let tokenizers = fuzzTokenizers()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDetokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let t = tokenizers[Int(data[0]) % tokenizers.count]
    var ids: [Int32] = []
    var i = 1
    while i + 3 <= size {
        // 3 bytes per id: mostly inside the vocabulary, sometimes outside it.
        let raw = Int32(data[i]) | Int32(data[i + 1]) << 8 | Int32(data[i + 2]) << 16
        ids.append(data[i + 2] & 0x80 != 0 ? raw - 0x40_0000 : raw % Int32(max(1, t.vocabularySize)))
        i += 3
    }
    var d = StreamingDetokenizer(tokenizer: t, skipSpecial: data[0] & 1 == 0)
    var joined = ""
    for id in ids {
        let piece = d.append(id)
        precondition(String(validating: Array(piece.utf8), as: UTF8.self) == piece, "invalid UTF-8 released")
        joined += piece
    }
    joined += d.finish()
    precondition(String(validating: Array(joined.utf8), as: UTF8.self) != nil)
    return 0
}
