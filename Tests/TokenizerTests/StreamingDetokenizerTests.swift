import Foundation
import SpecDecGGUF
import SpecDecTestSupport
import SpecDecTokenizer
import XCTest

final class StreamingDetokenizerTests: XCTestCase {
    private var path = ""

    override func tearDown() {
        if !path.isEmpty { try? FileManager.default.removeItem(atPath: path) }
        super.tearDown()
    }

    /// A SentencePiece vocabulary with "a", "▁" and the control tokens <start_of_turn>/<end_of_turn>.
    private func tinySentencePiece() throws -> Tokenizer {
        var v = TinyTokenizerVocab.sentencePiece()
        v.add("a", score: -1)
        v.add("▁", score: -1)
        v.add("<start_of_turn>", type: 3)
        v.add("<end_of_turn>", type: 3)
        path = TemporaryFiles.path("streaming-\(name.filter { $0.isLetter })")
        try v.write(to: path)
        return try Tokenizer(gguf: GGUFFile(path: path))
    }

    /// Byte token id of `b` in ``TinyTokenizerVocab/sentencePiece()``.
    private func byte(_ b: UInt8) -> Int32 { 4 + Int32(b) }

    func testAFourByteEmojiSentAsFourByteTokensIsHeldBackUntilComplete() throws {
        let t = try tinySentencePiece()
        var stream = StreamingDetokenizer(tokenizer: t)
        let crab = Array("🦀".utf8)
        XCTAssertEqual(crab.count, 4)
        XCTAssertEqual(stream.append(try XCTUnwrap(t.tokenID("a"))), "a")
        XCTAssertEqual(stream.append(byte(crab[0])), "")
        XCTAssertEqual(stream.append(byte(crab[1])), "")
        XCTAssertEqual(stream.append(byte(crab[2])), "")
        XCTAssertEqual(stream.append(byte(crab[3])), "🦀")
        XCTAssertEqual(stream.finish(), "")
    }

    func testEveryEmittedChunkIsValidUTF8AndTheChunksAddUpToTheWholeDecode() throws {
        let t = try tinySentencePiece()
        let text = "a é 中 🦀 a"
        let ids = t.encode(text, addBOS: false)
        XCTAssertTrue(ids.count > 10, "multi-byte characters are byte tokens here")
        var stream = StreamingDetokenizer(tokenizer: t)
        var joined = ""
        for id in ids {
            let chunk = stream.append(id)
            XCTAssertFalse(chunk.contains("\u{FFFD}"), "chunk \(String(reflecting: chunk)) holds a broken character")
            joined += chunk
        }
        joined += stream.finish()
        XCTAssertEqual(joined, text)
        XCTAssertEqual(joined, t.decode(ids))
    }

    func testFinishFlushesAnIncompleteSequenceAsAReplacementCharacter() throws {
        let t = try tinySentencePiece()
        var stream = StreamingDetokenizer(tokenizer: t)
        XCTAssertEqual(stream.append(byte(0xF0)), "")
        XCTAssertEqual(stream.append(byte(0x9F)), "")
        XCTAssertEqual(stream.finish(), "\u{FFFD}")
        // A stray continuation byte cannot become valid later, so it is not held back.
        XCTAssertEqual(stream.append(byte(0x80)), "\u{FFFD}")
    }

    func testSpaceMarkersBecomeSpacesAndControlTokensAreEmptyInSkipMode() throws {
        let t = try tinySentencePiece()
        let start = try XCTUnwrap(t.tokenID("<start_of_turn>"))
        let space = try XCTUnwrap(t.tokenID("▁"))
        let a = try XCTUnwrap(t.tokenID("a"))
        var skipping = StreamingDetokenizer(tokenizer: t)
        XCTAssertEqual(skipping.append(contentsOf: [start, space, a]), " a")
        var showing = StreamingDetokenizer(tokenizer: t, skipSpecial: false)
        XCTAssertEqual(showing.append(contentsOf: [start, space, a]), "<start_of_turn> a")
    }
}
