import Foundation
import XCTest
import SpecDecEngine
import SpecDecTestSupport

final class GeneratorTests: XCTestCase {
    private func tinyModel(_ arch: String = "llama", context: Int = 64) throws -> LoadedModel {
        var spec = TinyModel.Spec(architecture: arch)
        spec.weightScale = 3
        return try LoadedModel(path: try TinyModel.write(spec), contextLength: context, threads: 2)
    }

    func testGreedyGenerationIsDeterministicAndRespectsMaxTokens() throws {
        let model = try tinyModel()
        var options = GenerationOptions(maxTokens: 12)
        options.stopAtEndOfTurn = false
        let a = try Generator(model: model).generate(prompt: [10, 20, 30], options: options)
        let b = try Generator(model: model).generate(prompt: [10, 20, 30], options: options)
        XCTAssertEqual(a.tokens.count, 12)
        XCTAssertEqual(a.tokens, b.tokens)
        XCTAssertEqual(a.stopReason, .maxTokens)
        XCTAssertEqual(a.stats.generatedTokens, 12)
        XCTAssertEqual(a.stats.promptTokens, 3)
    }

    func testTheSameSeedGivesTheSameSampleAndAnotherSeedUsuallyDiffers() throws {
        let model = try tinyModel()
        func run(_ seed: UInt64) throws -> [Int32] {
            var options = GenerationOptions(maxTokens: 16, sampling: SamplingParameters(temperature: 1.5, seed: seed))
            options.stopAtEndOfTurn = false
            return try Generator(model: model).generate(prompt: [1, 2, 3], options: options).tokens
        }
        XCTAssertEqual(try run(7), try run(7))
        XCTAssertNotEqual(try run(7), try run(8))
    }

    func testAPromptThatFillsTheContextIsRejectedWithAClearError() throws {
        let model = try tinyModel(context: 16)
        XCTAssertThrowsError(try Generator(model: model).generate(prompt: [Int32](repeating: 5, count: 16), options: .init())) { error in
            XCTAssertEqual(error as? EngineError, .promptTooLong(tokens: 16, context: 16))
            XCTAssertTrue("\(error)".contains("16 tokens"))
        }
    }

    func testGenerationStopsWhenTheContextIsFull() throws {
        let model = try tinyModel(context: 16)
        var options = GenerationOptions(maxTokens: 100)
        options.stopAtEndOfTurn = false
        let r = try Generator(model: model).generate(prompt: [1, 2, 3, 4], options: options)
        XCTAssertEqual(r.stopReason, .contextFull)
        XCTAssertEqual(r.tokens.count, 16 - 4 + 1)
    }

    func testInvalidSamplingParametersAreRejected() throws {
        let model = try tinyModel()
        let bad = GenerationOptions(maxTokens: 4, sampling: SamplingParameters(temperature: 1, topP: 0))
        XCTAssertThrowsError(try Generator(model: model).generate(prompt: [1], options: bad))
    }

    func testAReusedGeneratorOnlyEvaluatesTheNewSuffixOfAConversation() throws {
        let model = try tinyModel()
        let g = Generator(model: model)
        var options = GenerationOptions(maxTokens: 4)
        options.stopAtEndOfTurn = false
        let first = try g.generate(prompt: [1, 2, 3, 4, 5], options: options)
        let second = try g.generate(prompt: [1, 2, 3, 4, 5] + first.tokens + [9, 9], options: options)
        let fresh = try Generator(model: model).generate(prompt: [1, 2, 3, 4, 5] + first.tokens + [9, 9], options: options)
        XCTAssertEqual(second.tokens, fresh.tokens)
    }
}
