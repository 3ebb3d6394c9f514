import XCTest
import SpecDecModel
import SpecDecSpeculation
import SpecDecTestSupport

/// The decode loop's bookkeeping: cache invariant, prefix reuse, limits and errors.
final class SpeculativeDecoderTests: XCTestCase {
    func testEachStepCommitsOneToDraftLengthPlusOneTokensAndKeepsThePendingTokenOutOfTheCache() throws {
        let target = try Tiny.model("llama", seed: 3)
        let drafter = try DraftModelDrafter(draft: Tiny.model("llama", seed: 3), target: target)
        let decoder = try SpeculativeDecoder(target: target, drafter: drafter, verifier: GreedyVerifier(),
                                             sampling: SamplingParameters(), draftLength: 3)
        try decoder.start(prompt: [1, 2, 3])
        // The prefill evaluates the whole prompt: the pending token's logits serve the first round.
        XCTAssertEqual(target.position, 3)
        XCTAssertEqual(decoder.pendingToken, 3)
        for _ in 0..<5 {
            let committed = try decoder.step()
            XCTAssertEqual(committed.count, 4)  // self-drafting: 3 accepted + bonus
            XCTAssertEqual(target.position, decoder.context.count - 1)
        }
        XCTAssertEqual(decoder.stats.draftSteps, 5)
        XCTAssertEqual(decoder.stats.meanAccepted, 4)
        // maxNewTokens bounds the draft: one token means no draft at all.
        XCTAssertEqual(try decoder.step(maxNewTokens: 1).count, 1)
        XCTAssertEqual(try decoder.step(maxNewTokens: 2).count, 2)
        XCTAssertEqual(decoder.stats.drafted, 16)
    }

    func testAfterAFullAcceptanceTheDraftModelEvaluatesOnlyTheLastDraftAndTheBonusToken() throws {
        let target = try Tiny.model("qwen2", seed: 3)
        let drafter = try DraftModelDrafter(draft: Tiny.model("qwen2", seed: 3), target: target)
        let decoder = try SpeculativeDecoder(target: target, drafter: drafter, verifier: GreedyVerifier(),
                                             sampling: SamplingParameters(), draftLength: 4)
        try decoder.start(prompt: [5, 6, 7, 8, 9])
        try decoder.step()
        XCTAssertEqual(drafter.evaluatedTokens, 5 + 3)  // the prompt, then 3 of the 4 draft tokens
        let before = drafter.evaluatedTokens
        try decoder.step()
        XCTAssertEqual(drafter.evaluatedTokens - before, 2 + 3)  // last draft + bonus, then 3 drafts
    }

    func testANewPromptSharingAPrefixReusesTheTargetCache() throws {
        let target = try Tiny.model("gemma3", seed: 3)
        let decoder = try SpeculativeDecoder(target: target, drafter: try PromptLookupDrafter(), verifier: GreedyVerifier(),
                                             sampling: SamplingParameters(), draftLength: 4)
        let first = try decoder.generate(prompt: [1, 2, 3, 4, 5, 6], maxNewTokens: 10)
        let second = try decoder.generate(prompt: [1, 2, 3, 4, 5, 6], maxNewTokens: 10)
        XCTAssertEqual(first, second)
        let prompt: [Int32] = [1, 2, 3, 4, 5, 6] + first.prefix(3) + [77]
        XCTAssertEqual(try decoder.generate(prompt: prompt, maxNewTokens: 12), try Tiny.greedy(target, prompt: prompt, count: 12))
    }

    func testTheContextLimitIsRespectedAndThenReported() throws {
        let target = try Tiny.model("llama", seed: 3, context: 24)
        let drafter = try DraftModelDrafter(draft: Tiny.model("llama", seed: 3, context: 24), target: target)
        let decoder = try SpeculativeDecoder(target: target, drafter: drafter, verifier: GreedyVerifier(),
                                             sampling: SamplingParameters(), draftLength: 8)
        let prompt: [Int32] = Array(1...20)
        let output = try decoder.generate(prompt: prompt, maxNewTokens: 100)
        // The last committed token is pending, so the context holds one token more than the cache.
        XCTAssertEqual(output.count, 24 + 1 - prompt.count)
        XCTAssertThrowsError(try decoder.step()) { XCTAssertEqual($0 as? SpeculationError, .notStarted) }
        // A prompt filling the context leaves room for one token (its last one is pending), then none.
        try decoder.start(prompt: Array((prompt + output).prefix(24)))
        XCTAssertEqual(try decoder.step(), [output[4]])
        XCTAssertThrowsError(try decoder.step()) { XCTAssertEqual($0 as? SpeculationError, .contextFull(context: 24)) }
        XCTAssertThrowsError(try decoder.start(prompt: Array(repeating: 1, count: 26))) {
            XCTAssertEqual($0 as? SpeculationError, .promptTooLong(tokens: 26, context: 24))
        }
    }

    func testInvalidInputsThrowDescriptiveErrors() throws {
        let target = try Tiny.model("llama")
        let drafter = try PromptLookupDrafter()
        XCTAssertThrowsError(try SpeculativeDecoder(target: target, drafter: drafter, verifier: GreedyVerifier(),
                                                    sampling: SamplingParameters(), draftLength: -1))
        XCTAssertThrowsError(try SpeculativeDecoder(target: target, drafter: drafter, verifier: GreedyVerifier(),
                                                    sampling: SamplingParameters(topP: 0), draftLength: 4)) { error in
            XCTAssertTrue("\(error)".contains("top-p"), "\(error)")
        }
        let decoder = try SpeculativeDecoder(target: target, drafter: drafter, verifier: GreedyVerifier(),
                                             sampling: SamplingParameters(), draftLength: 4)
        XCTAssertThrowsError(try decoder.step()) { XCTAssertEqual($0 as? SpeculationError, .notStarted) }
        XCTAssertThrowsError(try decoder.start(prompt: [])) { XCTAssertEqual($0 as? SpeculationError, .emptyPrompt) }
        try decoder.start(prompt: [1, 2])
        XCTAssertThrowsError(try decoder.step(maxNewTokens: 0))
        XCTAssertThrowsError(try decoder.rollback(to: 0))
    }

    func testDraftModelsWithIncompatibleVocabulariesAreRejected() throws {
        XCTAssertNoThrow(try DraftModelDrafter.checkCompatible(draftVocabularySize: 32_000, targetVocabularySize: 32_064))
        XCTAssertThrowsError(try DraftModelDrafter.checkCompatible(draftVocabularySize: 32_000, targetVocabularySize: 151_936)) { error in
            guard case SpeculationError.incompatibleDraft(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("32000") && message.contains("151936"), message)
        }
        let draft = try Tiny.model("llama")
        XCTAssertThrowsError(try DraftModelDrafter(draft: draft, targetVocabularySize: ByteVocabulary.size + 1000))
    }

    func testDraftTokensOutsideTheTargetVocabularyEndTheDraft() throws {
        let target = try Tiny.model("llama", seed: 3)
        let draft = try Tiny.model("llama", seed: 3)
        let smaller = ByteVocabulary.size - 100
        let drafter = try DraftModelDrafter(draft: draft, targetVocabularySize: smaller)
        let context: [Int32] = [1, 2, 3]
        let full = try DraftModelDrafter(draft: Tiny.model("llama", seed: 3), target: target)
            .draft(context: context, maxTokens: 6, sampling: SamplingParameters())
        let cut = try drafter.draft(context: context, maxTokens: 6, sampling: SamplingParameters())
        let expected = full.tokens.prefix { Int($0) < smaller }
        XCTAssertEqual(cut.tokens, Array(expected))
    }
}

extension SpeculativeDecoderTests {
    func testThePrefillsLogitsGiveTheFirstTokenAndARollbackBeforeTheFirstRoundDropsThem() throws {
        let target = try Tiny.model("qwen2", seed: 5)
        let prompt: [Int32] = [4, 9, 2, 7, 7, 1]
        let decoder = try SpeculativeDecoder(target: target, drafter: try PromptLookupDrafter(minNgram: 1), verifier: GreedyVerifier(),
                                             sampling: SamplingParameters(), draftLength: 3)
        try decoder.start(prompt: prompt)
        XCTAssertEqual(target.position, prompt.count, "the whole prompt is cached")
        try decoder.rollback(to: prompt.count)  // nothing to forget: the kept logits stay
        XCTAssertEqual(target.position, prompt.count)
        var output: [Int32] = []
        while output.count < 8 { output += try decoder.step(maxNewTokens: 8 - output.count) }
        XCTAssertEqual(output, try Tiny.greedy(target, prompt: prompt, count: 8))
        // A rollback into the prompt before the first round: the pending token changes, so the kept
        // logits are dropped and the first round evaluates the new pending token.
        try decoder.start(prompt: prompt)
        try decoder.rollback(to: prompt.count - 2)
        XCTAssertEqual(target.position, prompt.count - 3)
        output = []
        while output.count < 8 { output += try decoder.step(maxNewTokens: 8 - output.count) }
        XCTAssertEqual(output, try Tiny.greedy(target, prompt: Array(prompt.prefix(prompt.count - 2)), count: 8))
        // A repeated prompt re-evaluates its last token for its logits (the cache held it already).
        try decoder.start(prompt: prompt)
        XCTAssertEqual(try decoder.step(maxNewTokens: 1), Array(try Tiny.greedy(target, prompt: prompt, count: 1)))
    }

    func testPromptTokensOutsideTheVocabularyAreRejectedBeforeAnyWork() throws {
        let target = try Tiny.model("llama")
        let decoder = try SpeculativeDecoder(target: target, drafter: try PromptLookupDrafter(), verifier: GreedyVerifier(),
                                             sampling: SamplingParameters(), draftLength: 4)
        let size = ByteVocabulary.size
        XCTAssertThrowsError(try decoder.start(prompt: [1, Int32(size), 2])) { error in
            XCTAssertEqual(error as? SpeculationError, .tokenOutOfRange(token: Int32(size), index: 1, vocabularySize: size))
        }
        XCTAssertThrowsError(try decoder.start(prompt: [-1]))
        XCTAssertEqual(target.position, 0)
    }
}
