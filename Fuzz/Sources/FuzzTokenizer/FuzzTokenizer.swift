// The tokenizer's encode and decode on arbitrary bytes, for the tiny test vocabulary and each real
// vocabulary in the model cache. Invariants: no trap; decode(encode(text)) == text for valid UTF-8
// text without special-token spellings (byte-level BPE and byte-fallback SentencePiece are lossless).
import Foundation
import SpecDecGGUF
import SpecDecTestSupport
import SpecDecTokenizer
import FuzzSupport

/// The vocabularies: the tiny byte-level one, then every real model present.
nonisolated(unsafe) let tokenizers = fuzzTokenizers()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let t = tokenizers[Int(data[0]) % tokenizers.count]
    let bytes = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let text = String(decoding: bytes, as: UTF8.self)
    let ids = t.encode(text, addBOS: false, parseSpecial: false)
    for id in ids { precondition(id >= 0 && Int(id) < t.vocabularySize, "id \(id) outside the vocabulary") }
    let back = t.decode(ids)
    // Where the vocabulary allows: a text whose pieces all have tokens (no unknown or special token
    // stands in for a byte the vocabulary lacks) comes back unchanged.
    let specials = Set([t.bosToken, t.eosToken, t.unknownToken, t.paddingToken].compactMap { $0 }).union(t.endOfTurnTokens)
    // SentencePiece spells a space as U+2581, so a text holding U+2581 itself comes back with spaces.
    let spmMarker = t.kind == .sentencePiece && text.unicodeScalars.contains("\u{2581}")
    if String(validating: bytes, as: UTF8.self) != nil && !ids.contains(where: specials.contains) && !spmMarker {
        precondition(back == text, "round trip changed the text: \(Array(text.utf8)) -> \(Array(back.utf8))")
    }
    // Special tokens parsed too: never traps, ids in range.
    for id in t.encode(text, addBOS: true, parseSpecial: true) { precondition(id >= 0 && Int(id) < t.vocabularySize) }
    return 0
}
