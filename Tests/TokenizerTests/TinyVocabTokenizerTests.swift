import Foundation
import SpecDecGGUF
import SpecDecTestSupport
import SpecDecTokenizer
import XCTest

/// Tokenizers built from tiny synthetic vocabularies written with GGUFWriter and read back with GGUFFile.
final class TinyVocabTokenizerTests: XCTestCase {
    private var written: [String] = []

    override func tearDown() {
        for p in written { try? FileManager.default.removeItem(atPath: p) }
        written = []
        super.tearDown()
    }

    /// Writes `vocab` to a temporary file and opens it.
    private func open(_ vocab: TinyTokenizerVocab, _ name: String = #function) throws -> GGUFFile {
        let path = TemporaryFiles.path(name.filter { $0.isLetter || $0.isNumber })
        try vocab.write(to: path)
        written.append(path)
        return try GGUFFile(path: path)
    }

    private func tokenizer(_ vocab: TinyTokenizerVocab, _ name: String = #function) throws -> Tokenizer {
        try Tokenizer(gguf: open(vocab, name))
    }

    private static func s(_ text: String) -> String { TinyTokenizerVocab.byteLevelSpelling(text) }

    private static func rule(_ a: String, _ b: String) -> String { s(a) + " " + s(b) }

    // MARK: byte-level BPE

    func testByteLevelMergesApplyInRankOrder() throws {
        var v = TinyTokenizerVocab.byteLevel()
        let ab = v.add(Self.s("ab")), bc = v.add(Self.s("bc")), abc = v.add(Self.s("abc"))
        let a = Int32(UInt8(ascii: "a")), c = Int32(UInt8(ascii: "c"))

        v.merges = [Self.rule("a", "b"), Self.rule("b", "c"), Self.rule("ab", "c")]
        XCTAssertEqual(try tokenizer(v, "abFirst").encode("abc"), [abc])

        v.merges = [Self.rule("b", "c"), Self.rule("a", "b"), Self.rule("ab", "c")]
        XCTAssertEqual(try tokenizer(v, "bcFirst").encode("abc"), [a, bc])

        v.merges = [Self.rule("a", "b")]
        let t = try tokenizer(v, "onlyAB")
        XCTAssertEqual(t.encode("abcab"), [ab, c, ab])
        XCTAssertEqual(t.decode([ab, c, ab]), "abcab")
    }

    func testByteLevelSplitsWordsBeforeMerging() throws {
        var v = TinyTokenizerVocab.byteLevel()
        let spaceA = v.add(Self.s(" a"))
        let aa = v.add(Self.s("aa"))
        v.merges = [Self.rule(" ", "a"), Self.rule("a", "a")]
        let t = try tokenizer(v)
        // "aa aa": the pre-tokenizer gives "aa", " aa"; " aa" merges " a" first (rank 0), then stops.
        XCTAssertEqual(t.encode("aa aa"), [aa, spaceA, Int32(UInt8(ascii: "a"))])
        // Qwen2 splits every digit on its own.
        XCTAssertEqual(t.encode("12"), [Int32(UInt8(ascii: "1")), Int32(UInt8(ascii: "2"))])
    }

    func testByteLevelSpellsBytesOfUnmergedCharacters() throws {
        let t = try tokenizer(TinyTokenizerVocab.byteLevel())
        XCTAssertEqual(t.encode("é\n"), [0xC3, 0xA9, 0x0A])
        XCTAssertEqual(t.decode([0xC3, 0xA9, 0x0A]), "é\n")
        XCTAssertEqual(t.tokenText(0x20), "Ġ")
    }

    func testSpecialTokensAreMatchedWholeWithTheLongestFirst() throws {
        var v = TinyTokenizerVocab.byteLevel()
        let start = v.add("<|im_start|>", type: 3)
        let a = v.add("<a>", type: 3)
        let ab = v.add("<a><b>", type: 3)
        let tool = v.add("<tool>", type: 4)
        let t = try tokenizer(v)
        let x = Int32(UInt8(ascii: "x"))
        XCTAssertEqual(t.encode("<|im_start|>x"), [start, x])
        XCTAssertEqual(t.encode("<a><b>x<a>"), [ab, x, a])
        // Without parseSpecial, control tokens are plain text but user-defined tokens still match.
        let plain = t.encode("<a>x<tool>", parseSpecial: false)
        XCTAssertEqual(plain.last, tool)
        XCTAssertFalse(plain.contains(a))
        XCTAssertEqual(t.decode(plain), "<a>x<tool>")
        XCTAssertEqual(t.decode([start, x, tool], skipSpecial: true), "x<tool>")
    }

    // MARK: SentencePiece BPE

    func testSentencePieceMergesTheHighestScoringPairFirst() throws {
        var v = TinyTokenizerVocab.sentencePiece()
        let a = v.add("a", score: -1), b = v.add("b", score: -1), c = v.add("c", score: -1)
        let ab = v.add("ab", score: -3)
        let bc = v.add("bc", score: -2)
        XCTAssertEqual(try tokenizer(v, "noABC").encode("abc", addBOS: false), [a, bc])
        let abc = v.add("abc", score: -5)
        XCTAssertEqual(try tokenizer(v, "withABC").encode("abc", addBOS: false), [abc])
        _ = (ab, b, c)
    }

    func testSentencePieceEscapesSpacesAndHonoursTheSpacePrefix() throws {
        var v = TinyTokenizerVocab.sentencePiece()
        let a = v.add("a", score: -1)
        v.add("▁", score: -2)
        let spaceA = v.add("▁a", score: -1)
        let t = try tokenizer(v, "noPrefix")
        XCTAssertEqual(t.encode("a a", addBOS: false), [a, spaceA])
        XCTAssertEqual(t.decode([2, a, spaceA], skipSpecial: true), "a a")
        v.set("tokenizer.ggml.add_space_prefix", .bool(true))
        let p = try tokenizer(v, "prefix")
        XCTAssertEqual(p.encode("a a"), [2, spaceA, spaceA])
        XCTAssertEqual(p.decode(p.encode("a a"), skipSpecial: true), "a a")
    }

    func testSentencePieceFallsBackToByteTokens() throws {
        var v = TinyTokenizerVocab.sentencePiece()
        let a = v.add("a", score: -1)
        let t = try tokenizer(v)
        // é is C3 A9; byte tokens start at id 4.
        XCTAssertEqual(t.encode("aé", addBOS: false), [a, 4 + 0xC3, 4 + 0xA9])
        XCTAssertEqual(t.decode([a, 4 + 0xC3, 4 + 0xA9]), "aé")
        XCTAssertEqual(t.encode("a").first, 2, "BOS is added by default")
    }

    // MARK: bad metadata

    private func error(_ vocab: TinyTokenizerVocab, _ name: String = #function) throws -> TokenizerError? {
        let file = try open(vocab, name)
        do {
            _ = try Tokenizer(gguf: file)
            return nil
        } catch {
            return error
        }
    }

    func testBadMetadataGivesAClearError() throws {
        var noTokens = TinyTokenizerVocab.byteLevel()
        noTokens.tokens = []
        noTokens.types = []
        XCTAssertEqual(try error(noTokens, "empty")?.description, "tokenizer metadata key 'tokenizer.ggml.tokens' is invalid: the vocabulary is empty")

        var unknownModel = TinyTokenizerVocab.byteLevel()
        unknownModel.model = "wordpiece"
        XCTAssertEqual(try error(unknownModel, "model"), .unsupportedModel("wordpiece"))

        var badPre = TinyTokenizerVocab.byteLevel(pre: "martian")
        badPre.merges = []
        XCTAssertEqual(try error(badPre, "pre"), .unsupportedPreTokenizer("martian"))

        var shortTypes = TinyTokenizerVocab.byteLevel()
        shortTypes.types.removeLast()
        XCTAssertEqual(try error(shortTypes, "types"), .lengthMismatch(key: "tokenizer.ggml.token_type", expected: 256, found: 255))

        var badBOS = TinyTokenizerVocab.byteLevel()
        badBOS.set("tokenizer.ggml.bos_token_id", .uint32(999))
        let e = try XCTUnwrap(try error(badBOS, "bos"))
        XCTAssertEqual(e, .tokenOutOfRange(key: "tokenizer.ggml.bos_token_id", id: 999, vocabularySize: 256))
        XCTAssertTrue(e.description.contains("tokenizer.ggml.bos_token_id"), e.description)

        var duplicate = TinyTokenizerVocab.byteLevel()
        duplicate.add("a")
        XCTAssertEqual(try error(duplicate, "dup"), .duplicateToken(text: "a", firstID: 97, secondID: 256))

        var badMerge = TinyTokenizerVocab.byteLevel()
        badMerge.merges = ["ab"]
        XCTAssertEqual(try error(badMerge, "merge"),
                       .invalidMerge(index: 0, rule: "ab", reason: "no space separating two parts"))

        var missingMerges = TinyTokenizerVocab.byteLevel()
        missingMerges.model = "gpt2"
        var w = missingMerges.writer()
        w.set("tokenizer.ggml.merges", .uint32(1))
        let path = TemporaryFiles.path("mergesType")
        try w.write(to: path)
        written.append(path)
        XCTAssertThrowsError(try Tokenizer(gguf: GGUFFile(path: path))) { err in
            XCTAssertEqual(err as? TokenizerError,
                           .invalidMetadata(key: "tokenizer.ggml.merges", reason: "not an array of strings"))
        }
    }
}
