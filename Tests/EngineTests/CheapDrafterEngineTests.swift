import Foundation
import XCTest
import SpecDecEngine
import SpecDecModel
import SpecDecTestSupport

/// The engine side of the cheap drafters: option parsing, vocabulary rankings and calibration
/// files, and lossless generation with real models when they are cached.
final class CheapDrafterEngineTests: XCTestCase {
    private func tiny(seed: UInt64 = 1) throws -> LoadedModel {
        var spec = TinyModel.Spec(architecture: "qwen2")
        spec.weightScale = 4
        spec.seed = seed
        return try LoadedModel(path: try TinyModel.write(spec), contextLength: 256, threads: 2)
    }

    private func greedy(_ max: Int) -> GenerationOptions {
        var o = GenerationOptions(maxTokens: max)
        o.stopAtEndOfTurn = false
        return o
    }

    private func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "specdec-cal-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func testDrafterSpellingsParse() throws {
        var o = SpeculationOptions()
        try o.setDrafter("chain:lookup,suffix,self")
        XCTAssertEqual(o.drafter, .chain)
        XCTAssertEqual(o.chain, [.lookup, .suffix, .selfSpeculative])
        try o.setDrafter("chain:model+cross-vocab")
        XCTAssertEqual(o.chain, [.model, .crossVocabulary])
        XCTAssertTrue(o.usesDraftModel)
        XCTAssertTrue(o.isGreedyOnly)
        try o.setDrafter("self:skip=/tmp/x.json")
        XCTAssertEqual(o.drafter, .selfSpeculative)
        XCTAssertEqual(o.skipFile, "/tmp/x.json")
        try o.setDrafter("cross-vocab")
        XCTAssertEqual(o.drafter, .crossVocabulary)
        for bad in ["chain:", "chain:lookup,lookup", "chain:none", "chain:hybrid", "self:k=3", "lookup:x", "magic"] {
            var p = SpeculationOptions()
            XCTAssertThrowsError(try p.setDrafter(bad), bad)
        }
        XCTAssertEqual(SpeculationOptions(drafter: .chain).chainSteps, SpeculationOptions.defaultChain)
        XCTAssertEqual(try DraftVocabulary.parse("16384"), .size(16384))
        XCTAssertEqual(try DraftVocabulary.parse("/a/b.json"), .file("/a/b.json", size: nil))
        XCTAssertEqual(try DraftVocabulary.parse("/a/b.json:8192"), .file("/a/b.json", size: 8192))
        XCTAssertThrowsError(try DraftVocabulary.parse("0"))
        XCTAssertThrowsError(try DraftVocabulary.parse(""))
    }

    func testRankingTopFillsFromTheFallbackAndKeepsTheAlwaysTokens() throws {
        let r = VocabularyRanking(model: "m", vocabularySize: 10, counts: [7: 5, 3: 9, 8: 5], source: "test")
        XCTAssertEqual(r.ranked, [3, 7, 8])
        XCTAssertEqual(r.tokensCounted, 19)
        XCTAssertEqual(try r.top(2, vocabularySize: 10), [3, 7])
        XCTAssertEqual(try r.top(5, vocabularySize: 10), [3, 7, 8, 0, 1])
        XCTAssertEqual(try r.top(5, vocabularySize: 10, fallback: [9, 8, 2]), [3, 7, 8, 9, 2])
        XCTAssertEqual(try r.top(3, vocabularySize: 10, always: [6]), [3, 7, 6])
        XCTAssertEqual(try r.top(3, vocabularySize: 10, always: [7]), [3, 7, 8])
        XCTAssertThrowsError(try r.top(0, vocabularySize: 10))
        XCTAssertThrowsError(try r.top(11, vocabularySize: 10))
        XCTAssertThrowsError(try r.top(3, vocabularySize: 12)) { error in
            XCTAssertTrue("\(error)".contains("12"), "\(error)")
        }
        let dir = try temporaryDirectory()
        try r.write(path: dir + "/r.json")
        XCTAssertEqual(try VocabularyRanking.read(path: dir + "/r.json"), r)
        try Data("{\"model\": 3}".utf8).write(to: URL(fileURLWithPath: dir + "/bad.json"))
        XCTAssertThrowsError(try VocabularyRanking.read(path: dir + "/bad.json")) { error in
            XCTAssertTrue("\(error)".contains("bad.json"), "\(error)")
        }
        XCTAssertThrowsError(try VocabularyRanking.read(path: dir + "/missing.json"))
    }

    func testCalibrationStoreFindsTheCachedFileBeforeTheShippedOne() throws {
        let cache = try temporaryDirectory(), shipped = try temporaryDirectory()
        let store = CalibrationStore(directory: cache, shipped: shipped)
        XCTAssertNil(store.find("m.vocab.json"))
        FileManager.default.createFile(atPath: shipped + "/m.vocab.json", contents: Data("{}".utf8))
        XCTAssertEqual(store.find("m.vocab.json"), shipped + "/m.vocab.json")
        FileManager.default.createFile(atPath: cache + "/m.vocab.json", contents: Data("{}".utf8))
        XCTAssertEqual(store.find("m.vocab.json"), cache + "/m.vocab.json")
    }

    /// `--draft-vocab N` without a ranking names the calibrate command; with one, the trimmed head
    /// holds N tokens and the generation is the plain one.
    func testDraftVocabularyUsesTheRankingAndStaysLossless() throws {
        let target = try tiny(), draft = try tiny()
        var o = SpeculationOptions(drafter: .model, draftMax: 4)
        o.calibration = CalibrationStore(directory: try temporaryDirectory(), shipped: nil)
        o.draftVocabulary = .size(100)
        XCTAssertThrowsError(try SpeculativeGenerator(target: target, draftModel: draft, options: o)) { error in
            XCTAssertTrue("\(error)".contains("calibrate-vocab"), "\(error)")
        }
        let prompt: [Int32] = [10, 20, 30, 40, 10, 20]
        let plain = try Generator(model: target).generate(prompt: prompt, options: greedy(30))
        var counts: [Int32: Int] = [:]
        for t in plain.tokens { counts[t, default: 0] += 1 }
        let ranking = VocabularyRanking(model: draft.name, vocabularySize: draft.transformer.config.vocabularySize, counts: counts,
                                        source: "test")
        for name in Set([draft.name, target.name]) {  // self-speculation trims the target's head
            try ranking.write(path: o.calibration.cachePath(CalibrationStore.vocabularyFile(model: name)))
        }
        let head = try XCTUnwrap(try o.trimmedHead(of: draft))
        XCTAssertEqual(head.count, 100)
        XCTAssertTrue(Set(plain.tokens).isSubset(of: Set(head.tokens)))
        for kind in [DrafterKind.model, .hybrid, .selfSpeculative, .chain] {
            o.drafter = kind
            let g = try SpeculativeGenerator(target: target, draftModel: draft, options: o)
            let r = try g.generate(prompt: prompt, options: greedy(30))
            XCTAssertEqual(r.tokens, plain.tokens, "\(kind)")
        }
    }

    func testCrossVocabularyRefusesSampling() throws {
        let target = try tiny(), draft = try tiny(seed: 2)
        let g = try SpeculativeGenerator(target: target, draftModel: draft, options: SpeculationOptions(drafter: .crossVocabulary))
        var sampled = greedy(8)
        sampled.sampling = SamplingParameters(temperature: 0.8)
        XCTAssertThrowsError(try g.generate(prompt: [1, 2, 3], options: sampled)) { error in
            XCTAssertTrue("\(error)".contains("greedy"), "\(error)")
        }
        XCTAssertEqual(try g.generate(prompt: [1, 2, 3], options: greedy(8)).tokens,
                       try Generator(model: target).generate(prompt: [1, 2, 3], options: greedy(8)).tokens)
    }

    func testSkipFileIsReadAndAWrongOneIsRefused() throws {
        let target = try tiny()
        let dir = try temporaryDirectory()
        let layers = target.transformer.config.layerCount
        let result = LayerSkipSearch.Result(skip: try LayerSkip(layerCount: layers, feedForward: [layers - 1]), agreement: 0.9,
                                            relativeCost: 0.8, estimatedSpeedup: 1.1, evaluations: 3, positions: 10)
        try SkipCalibration(model: target.name, result: result, draftLength: 4, verifyCost: 1.2, samples: 1, source: "test")
            .write(path: dir + "/ok.json")
        var o = SpeculationOptions(drafter: .selfSpeculative, draftMax: 4)
        o.skipFile = dir + "/ok.json"
        let prompt: [Int32] = [10, 20, 30, 40, 10, 20]
        let g = try SpeculativeGenerator(target: target, options: o)
        let r = try g.generate(prompt: prompt, options: greedy(24))
        XCTAssertEqual(r.tokens, try Generator(model: target).generate(prompt: prompt, options: greedy(24)).tokens)
        XCTAssertGreaterThan(r.speculation?.drafted ?? 0, 0)
        let wrong = LayerSkipSearch.Result(skip: try LayerSkip(layerCount: layers + 3), agreement: 1, relativeCost: 1,
                                           estimatedSpeedup: 1, evaluations: 0, positions: 0)
        try SkipCalibration(model: "other", result: wrong, draftLength: 4, verifyCost: 1.2, samples: 1, source: "test")
            .write(path: dir + "/wrong.json")
        o.skipFile = dir + "/wrong.json"
        XCTAssertThrowsError(try SpeculativeGenerator(target: target, options: o)) { error in
            XCTAssertTrue("\(error)".contains("layer"), "\(error)")
        }
        o.skipFile = dir + "/missing.json"
        XCTAssertThrowsError(try SpeculativeGenerator(target: target, options: o))
    }

    /// Real models: SmolLM2 drafting across vocabularies for Qwen, Qwen self-speculating, and the
    /// 0.5B drafting through a trimmed head: every output is plain greedy's.
    func testRealModelCheapDraftersAreLossless() throws {
        let target = try RealModels.load("qwen2.5-coder-0.5b")
        let smol = try RealModels.load("smollm2-135m")
        let prompt = target.promptTokens("Write a Python function that returns the n-th Fibonacci number.", chat: true)
        let plain = try Generator(model: target).generate(prompt: prompt, options: greedy(40))
        let cross = try SpeculativeGenerator(target: target, draftModel: smol, options: SpeculationOptions(drafter: .crossVocabulary, draftMax: 4))
        let c = try cross.generate(prompt: prompt, options: greedy(40))
        XCTAssertEqual(c.tokens, plain.tokens, "cross-vocab")
        XCTAssertGreaterThan(c.speculation?.accepted ?? 0, 0, "SmolLM2's drafts are sometimes right")
        var o = SpeculationOptions(drafter: .selfSpeculative, draftMax: 4)
        o.skipSearchBudget = 12
        o.calibration = CalibrationStore(directory: try temporaryDirectory(), shipped: nil)
        let s = try SpeculativeGenerator(target: target, options: o).generate(prompt: prompt, options: greedy(40))
        XCTAssertEqual(s.tokens, plain.tokens, "self")
        let draft = try LoadedModel(path: try RealModels.path("qwen2.5-coder-0.5b"), contextLength: 1024, threads: 2)
        var counts: [Int32: Int] = [:]
        for t in plain.tokens + prompt { counts[t, default: 0] += 1 }
        let dir = try temporaryDirectory()
        try VocabularyRanking(model: draft.name, vocabularySize: draft.transformer.config.vocabularySize, counts: counts, source: "test")
            .write(path: dir + "/r.json")
        var m = SpeculationOptions(drafter: .model, draftMax: 4)
        m.costModel = false  // every round drafts 4: τ measures the head, not the cost model
        m.draftVocabulary = .file(dir + "/r.json", size: 4096)
        let t = try SpeculativeGenerator(target: target, draftModel: draft, options: m).generate(prompt: prompt, options: greedy(40))
        XCTAssertEqual(t.tokens, plain.tokens, "trimmed head")
        XCTAssertGreaterThan(t.speculation?.meanAccepted ?? 0, 3, "the model itself through a head holding its output")
    }
}
