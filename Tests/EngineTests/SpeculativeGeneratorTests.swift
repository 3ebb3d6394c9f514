import Foundation
import XCTest
import SpecDecEngine
import SpecDecTestSupport

/// Speculative generation through the engine (streaming, stop handling) must produce exactly the
/// plain generator's greedy output, for every drafter.
final class SpeculativeGeneratorTests: XCTestCase {
    private func tiny(seed: UInt64 = 1, context: Int = 256) throws -> LoadedModel {
        var spec = TinyModel.Spec(architecture: "qwen2")
        spec.weightScale = 4
        spec.seed = seed
        return try LoadedModel(path: try TinyModel.write(spec), contextLength: context, threads: 2)
    }

    private func greedy(_ max: Int) -> GenerationOptions {
        var o = GenerationOptions(maxTokens: max)
        o.stopAtEndOfTurn = false
        return o
    }

    func testEveryDrafterGivesThePlainGreedyOutputOnATinyModel() throws {
        let target = try tiny()
        let draft = try tiny(seed: 9)
        let prompt: [Int32] = [10, 20, 30, 40, 10, 20, 30, 40, 10, 20]
        let plain = try Generator(model: target).generate(prompt: prompt, options: greedy(40))
        for kind in DrafterKind.allCases {
            for k in [1, 3, 8] {
                let g = try SpeculativeGenerator(target: target, draftModel: draft, options: SpeculationOptions(drafter: kind, draftMax: k))
                let r = try g.generate(prompt: prompt, options: greedy(40))
                XCTAssertEqual(r.tokens, plain.tokens, "\(kind) k=\(k)")
                XCTAssertEqual(r.text, plain.text, "\(kind) k=\(k)")
                XCTAssertNotNil(r.speculation)
            }
        }
    }

    func testStopStringsCutTheSameTextAsPlainGeneration() throws {
        let target = try tiny()
        let prompt: [Int32] = [5, 6, 7, 8]
        let full = try Generator(model: target).generate(prompt: prompt, options: greedy(30))
        // A stop string of one plain ASCII character that occurs after the start of the output (random
        // byte tokens also produce incomplete UTF-8, which never reaches the stream as such).
        guard let stopChar = full.text.dropFirst(2).first(where: { $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw XCTSkip("the tiny model produced no ASCII letter to stop at")
        }
        let stop = String(stopChar)
        var options = greedy(30)
        options.stopStrings = [stop]
        let plain = try Generator(model: target).generate(prompt: prompt, options: options)
        let draft = try LoadedModel(path: target.file.path, contextLength: 256, threads: 2)
        let g = try SpeculativeGenerator(target: target, draftModel: draft, options: SpeculationOptions(drafter: .model, draftMax: 4))
        let spec = try g.generate(prompt: prompt, options: options)
        XCTAssertEqual(plain.stopReason, .stopString)
        XCTAssertEqual(spec.stopReason, .stopString)
        XCTAssertEqual(spec.text, plain.text)
        // The generator stays usable and consistent after a stop in the middle of a committed run.
        let again = try g.generate(prompt: prompt, options: greedy(30))
        XCTAssertEqual(again.tokens, full.tokens)
    }

    func testModelDrafterWithoutADraftModelOrSharingTheTargetIsAClearError() throws {
        let target = try tiny()
        XCTAssertThrowsError(try SpeculativeGenerator(target: target, draftModel: target, options: SpeculationOptions(drafter: .model))) { error in
            XCTAssertTrue("\(error)".contains("own KV cache"), "\(error)")
        }
        XCTAssertThrowsError(try SpeculativeGenerator(target: target, options: SpeculationOptions(drafter: .model))) { error in
            XCTAssertTrue("\(error)".contains("--draft-model"), "\(error)")
        }
    }

    func testRealModelSpeculationIsLosslessForEveryDrafter() throws {
        let model = try RealModels.load("qwen2.5-coder-0.5b")
        let draft = try RealModels.load("smollm2-135m")
        let prompt = model.promptTokens("Write a Python function that checks whether a string is a palindrome.", chat: true)
        let plain = try Generator(model: model).generate(prompt: prompt, options: greedy(48))
        for kind in [DrafterKind.lookup, .suffix] {
            let g = try SpeculativeGenerator(target: model, options: SpeculationOptions(drafter: kind, draftMax: 4))
            XCTAssertEqual(try g.generate(prompt: prompt, options: greedy(48)).tokens, plain.tokens, "\(kind)")
        }
        // A real draft model with the same vocabulary: the model itself (full acceptance expected).
        let selfDraft = try LoadedModel(path: try RealModels.path("qwen2.5-coder-0.5b"), contextLength: 1024, threads: 2)
        var fixed = SpeculationOptions(drafter: .model, draftMax: 4)
        fixed.costModel = false  // the cost model rightly declines a draft as slow as the target; τ is what is checked here
        let g = try SpeculativeGenerator(target: model, draftModel: selfDraft, options: fixed)
        let r = try g.generate(prompt: prompt, options: greedy(48))
        XCTAssertEqual(r.tokens, plain.tokens)
        XCTAssertGreaterThan(r.speculation?.meanAccepted ?? 0, 3)
        // A draft model with another vocabulary is refused, naming the difference.
        XCTAssertThrowsError(try SpeculativeGenerator(target: model, draftModel: draft, options: SpeculationOptions(drafter: .model))) { error in
            guard case EngineError.incompatibleDraft? = error as? EngineError else { return XCTFail("\(error)") }
        }
    }

    func testTheFlagshipPairIsLosslessWhenPresent() throws {
        let target = try RealModels.load("qwen2.5-coder-1.5b")
        let draft = try RealModels.load("qwen2.5-coder-0.5b")
        let prompt = target.promptTokens("Write a C function that reverses a linked list.", chat: true)
        let plain = try Generator(model: target).generate(prompt: prompt, options: greedy(48))
        for k in [1, 2, 4, 8] {
            let g = try SpeculativeGenerator(target: target, draftModel: draft, options: SpeculationOptions(drafter: .model, draftMax: k))
            XCTAssertEqual(try g.generate(prompt: prompt, options: greedy(48)).tokens, plain.tokens, "k=\(k)")
        }
    }
}
