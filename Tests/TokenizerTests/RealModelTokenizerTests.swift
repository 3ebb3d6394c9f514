import Foundation
import SpecDecGGUF
import SpecDecTokenizer
import XCTest

/// Tokenization of the real model vocabularies against ids from an independent implementation
/// (see ReferenceTokenIDs.swift and tools/reference/tokenizer_reference.py).
final class RealModelTokenizerTests: XCTestCase {
    static let qwen = "qwen2.5-coder-0.5b.gguf"
    static let qwenLarge = "qwen2.5-coder-1.5b.gguf"
    static let smol = "smollm2-135m.gguf"
    static let gemma = "gemma-3-270m.gguf"

    func testQwenChatPromptTokenizesToTheKnownGoodIDs() throws {
        let (file, tokenizer) = try ModelFixtures.load(Self.qwen)
        let template = ChatTemplate.detect(gguf: file, tokenizer: tokenizer)
        let prompt = template.render([
            .system("You are a helpful assistant."),
            .user("Write a Python function that returns the n-th Fibonacci number."),
        ])
        let expected: [Int32] = [
            151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 7985, 264, 13027, 729,
            429, 4675, 279, 308, 7563, 79683, 1372, 13, 151645, 198, 151644, 77091, 198,
        ]
        XCTAssertEqual(tokenizer.encode(prompt), expected)
        // The default system prompt of the detected template gives the same prompt.
        let withDefault = template.render([.user("Write a Python function that returns the n-th Fibonacci number.")])
        XCTAssertEqual(tokenizer.encode(withDefault), expected)
    }

    func testSmolLM2MatchesTheReferenceIDs() throws {
        try checkReference(Self.smol, ReferenceTokenIDs.smollm2)
    }

    func testQwen25MatchesTheReferenceIDs() throws {
        try checkReference(Self.qwen, ReferenceTokenIDs.qwen25)
    }

    func testGemma3MatchesTheReferenceIDs() throws {
        try checkReference(Self.gemma, ReferenceTokenIDs.gemma3)
    }

    private func checkReference(_ model: String, _ cases: [ReferenceCase]) throws {
        let tokenizer = try ModelFixtures.load(model).tokenizer
        for c in cases {
            let ids = tokenizer.encode(c.text, addBOS: false, parseSpecial: c.parseSpecial)
            XCTAssertEqual(ids, c.ids, "\(model): '\(c.name)' encodes differently from the reference")
            XCTAssertEqual(tokenizer.decode(ids), c.text, "\(model): '\(c.name)' does not round-trip")
            var stream = StreamingDetokenizer(tokenizer: tokenizer, skipSpecial: false)
            let streamed = ids.map { stream.append($0) }.joined() + stream.finish()
            XCTAssertEqual(streamed, c.text, "\(model): '\(c.name)' streams differently")
        }
    }

    func testGemmaAddsBOSByDefaultAndQwenDoesNot() throws {
        let gemma = try ModelFixtures.load(Self.gemma).tokenizer
        XCTAssertEqual(gemma.encode("Hello").first, 2)
        XCTAssertEqual(gemma.encode("Hello", addBOS: false).first, gemma.tokenID("Hello"))
        XCTAssertEqual(gemma.decode(gemma.encode("Hello world"), skipSpecial: true), "Hello world")
        let qwen = try ModelFixtures.load(Self.qwen).tokenizer
        XCTAssertFalse(qwen.addBOSByDefault)
        XCTAssertEqual(qwen.encode("Hello"), [9707])
    }

    func testSpecialTokenIDsAndEndOfTurnSetsComeFromTheMetadata() throws {
        let qwen = try ModelFixtures.load(Self.qwen).tokenizer
        XCTAssertEqual(qwen.vocabularySize, 151_936)
        XCTAssertEqual(qwen.eosToken, 151_645)
        XCTAssertEqual(qwen.endOfTurnTokens, [151_645, 151_643])
        XCTAssertTrue(qwen.isControl(151_644))
        XCTAssertEqual(qwen.tokenText(151_644), "<|im_start|>")
        XCTAssertEqual(qwen.tokenType(151_657), .userDefined)
        let gemma = try ModelFixtures.load(Self.gemma).tokenizer
        XCTAssertEqual(gemma.vocabularySize, 262_144)
        XCTAssertEqual(gemma.bosToken, 2)
        XCTAssertEqual(gemma.endOfTurnTokens, [1, 106])
        let smol = try ModelFixtures.load(Self.smol).tokenizer
        XCTAssertEqual(smol.endOfTurnTokens, [0, 2])
    }

    func testDecodeRendersOrSkipsControlTokens() throws {
        let qwen = try ModelFixtures.load(Self.qwen).tokenizer
        let ids = qwen.encode("<|im_start|>user\nHi<|im_end|>")
        XCTAssertEqual(qwen.decode(ids), "<|im_start|>user\nHi<|im_end|>")
        XCTAssertEqual(qwen.decode(ids, skipSpecial: true), "user\nHi")
    }

    func testChatTemplateDetectionPicksEachModelsFormat() throws {
        let (qf, qt) = try ModelFixtures.load(Self.qwen)
        XCTAssertEqual(ChatTemplate.detect(gguf: qf, tokenizer: qt), .chatML(defaultSystem: "You are a helpful assistant."))
        let (sf, st) = try ModelFixtures.load(Self.smol)
        XCTAssertEqual(ChatTemplate.detect(gguf: sf, tokenizer: st),
                       .chatML(defaultSystem: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"))
        let (gf, gt) = try ModelFixtures.load(Self.gemma)
        let gemma = ChatTemplate.detect(gguf: gf, tokenizer: gt)
        XCTAssertEqual(gemma, .gemma)
        let ids = gt.encode(gemma.render([.system("Be brief."), .user("Hi!")]))
        XCTAssertEqual(ids.prefix(3), [2, 105, 2364])  // <bos> <start_of_turn> user
        XCTAssertEqual(Array(ids.suffix(3)), [105, 4368, 107])  // <start_of_turn> model \n
        XCTAssertTrue(gemma.stopTokens(for: gt).contains(106))
    }

    func testQwenDraftAndTargetVocabulariesMatchAndOtherPairsDoNot() throws {
        let small = try ModelFixtures.load(Self.qwen).tokenizer
        let large = try ModelFixtures.load(Self.qwenLarge).tokenizer
        XCTAssertNil(Tokenizer.differences(small, large))
        XCTAssertEqual(small.vocabularyFingerprint(), large.vocabularyFingerprint())
        let smol = try ModelFixtures.load(Self.smol).tokenizer
        let difference = try XCTUnwrap(Tokenizer.differences(small, smol))
        XCTAssertTrue(difference.contains("pre-tokenizers differ"), difference)
        XCTAssertNotEqual(small.vocabularyFingerprint(), smol.vocabularyFingerprint())
    }

    func testEncodingALongPromptIsFast() throws {
        for model in [Self.qwen, Self.smol, Self.gemma] {
            let tokenizer = try ModelFixtures.load(model).tokenizer
            var text = ""
            var i = 0
            while text.utf8.count < 12_000 {
                text += ReferenceTokenIDs.qwen25[i % ReferenceTokenIDs.qwen25.count].text + " \(i)\n"
                i += 1
            }
            let clock = ContinuousClock()
            var ids: [Int32] = []
            let elapsed = clock.measure { ids = tokenizer.encode(text, addBOS: false) }
            XCTAssertGreaterThanOrEqual(ids.count, 2000)
            XCTAssertEqual(tokenizer.decode(ids), text)
            // Release builds take a few milliseconds; the bound leaves room for unoptimized debug builds.
            XCTAssertLessThan(elapsed, .seconds(2), "\(model): encoding \(ids.count) tokens took \(elapsed)")
            print("\(model): encoded \(ids.count) tokens in \(elapsed)")
        }
    }
    func testBuildingTheLargestVocabularyIsFast() throws {
        let file = try ModelFixtures.load(Self.gemma).file
        let clock = ContinuousClock()
        var tokenizer: Tokenizer?
        let elapsed = try clock.measure { tokenizer = try Tokenizer(gguf: file) }
        XCTAssertEqual(tokenizer?.vocabularySize, 262_144)
        // Release builds take well under 0.5 s; the bound leaves room for unoptimized debug builds.
        XCTAssertLessThan(elapsed, .seconds(5))
        print("\(Self.gemma): built the tokenizer in \(elapsed)")
    }
}
