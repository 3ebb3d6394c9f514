import XCTest
import SpecDecKernels
import SpecDecModel
@testable import SpecDecSpeculation
import SpecDecTestSupport

/// The drafters of the cheap-drafting round: trimmed draft heads, self-speculative layer skipping,
/// the drafter chain and cross-vocabulary drafting. Each is lossless under greedy verification (and
/// under speculative sampling with greedy parameters) on every architecture and draft length.
final class CheapDrafterTests: XCTestCase {
    static let architectures = LosslessnessTests.architectures
    static let prompt = LosslessnessTests.prompt
    static let newTokens = LosslessnessTests.newTokens

    private func target(_ arch: String) throws -> Transformer {
        let t = LosslessnessTests.targets[arch] ?? (1, 0.5)
        return try Tiny.model(arch, seed: t.seed, weightScale: t.scale) { $0.layers = 3 }
    }

    @discardableResult
    private func assertLossless(_ arch: String, _ label: String, requests: Int = 1,
                                makeDrafter: (Transformer) throws -> Drafter,
                                file: StaticString = #filePath, line: UInt = #line) throws -> SpeculationStats {
        try assertSpeculationMatchesPlainGreedy(try target(arch), prompt: Self.prompt, newTokens: Self.newTokens, "\(label) on \(arch)",
                                                requests: requests, requireDrafts: false, makeDrafter: makeDrafter, file: file, line: line)
    }

    /// A subset of the byte vocabulary that holds the target's greedy output, and one that misses some of it.
    private func subsets(_ target: Transformer) throws -> (covering: [Int32], missing: [Int32]) {
        let reference = try Tiny.greedy(target, prompt: Self.prompt, count: Self.newTokens)
        let used = Array(Set(reference)).sorted()
        let others = (0..<Int32(target.config.vocabularySize)).filter { !used.contains($0) }
        var rng = SplitMix64(seed: 5)
        let covering = (used + others.prefix(40)).shuffled(using: &rng)
        let missing = Array(used.dropFirst(used.count / 2)) + others.prefix(40)
        return (covering, missing)
    }

    // MARK: trimmed draft heads

    func testTrimmedHeadDraftsAreLosslessAndCoverOnlyTheirTokens() throws {
        for arch in Self.architectures {
            let t = LosslessnessTests.targets[arch] ?? (1, 0.5)
            let probe = try target(arch)
            let (covering, missing) = try subsets(probe)
            for (name, subset) in [("covering", covering), ("missing", missing)] {
                var drafted = Set<Int32>()
                let stats = try assertLossless(arch, "trimmed head (\(name))") { target in
                    let draft = try Tiny.model(arch, seed: t.seed, weightScale: t.scale) { $0.layers = 3 }
                    let d = try DraftModelDrafter(draft: draft, target: target, head: TrimmedHead(model: draft, tokens: subset))
                    return RecordingDrafter(d) { drafted.formUnion($0.tokens) }
                }
                XCTAssertTrue(drafted.isSubset(of: Set(subset)), "\(arch) \(name): drafted a token outside the head")
                if name == "covering" {
                    XCTAssertEqual(stats.accepted, stats.drafted, "\(arch): the target's own weights through a covering head")
                } else {
                    XCTAssertLessThan(stats.accepted, stats.drafted, "\(arch): a head missing output tokens must miss drafts")
                }
            }
        }
    }

    /// q of a sampled trimmed-head draft is the softmax over the head's tokens only: zero elsewhere,
    /// summing to one, and equal to the renormalized full distribution on the subset.
    func testTrimmedHeadDistributionIsZeroOutsideTheSubset() throws {
        let model = try Tiny.model("qwen2", seed: 3, weightScale: 1.5)
        let subset: [Int32] = Array(stride(from: Int32(0), to: Int32(model.config.vocabularySize), by: 3))
        let head = try TrimmedHead(model: model, tokens: subset)
        let drafter = try DraftModelDrafter(draft: model, targetVocabularySize: model.config.vocabularySize, head: head)
        let sampling = SamplingParameters(temperature: 1, seed: 4)
        let d = try drafter.draft(context: Self.prompt, maxTokens: 3, sampling: sampling)
        XCTAssertEqual(d.tokens.count, 3)
        let q = try XCTUnwrap(d.distributions?.first)
        XCTAssertTrue(Set(q.tokens).isSubset(of: Set(subset)))
        XCTAssertEqual(q.probabilities.reduce(0, +), 1, accuracy: 1e-4)
        XCTAssertEqual(q.probability(of: 1), 0)
        // The same context through the full head, renormalized over the subset.
        let full = try Tiny.model("qwen2", seed: 3, weightScale: 1.5)
        let p = Sampler.distribution(try full.forward(Self.prompt, logits: .last)[0], sampling)
        let mass = subset.reduce(Float(0)) { $0 + p.probability(of: $1) }
        for t in subset.prefix(20) { XCTAssertEqual(q.probability(of: t), p.probability(of: t) / mass, accuracy: 1e-4) }
    }

    // MARK: self-speculative layer skipping

    func testSelfSpeculationWithFixedSkipSetsIsLossless() throws {
        for arch in Self.architectures {
            for skip in [try LayerSkip(layerCount: 3), try LayerSkip(layerCount: 3, attention: [1]),
                         try LayerSkip(layerCount: 3, attention: [2], feedForward: [1]),
                         try LayerSkip(layerCount: 3, attention: [0, 1, 2], feedForward: [0, 1, 2])] {
                let stats = try assertLossless(arch, "self \(skip)") { target in
                    try SelfSpeculativeDrafter(model: target, skip: skip)
                }
                if skip.isEmpty { XCTAssertEqual(stats.accepted, stats.drafted, "\(arch): skipping nothing drafts the target's own tokens") }
                XCTAssertGreaterThan(stats.drafted, 0, "\(arch) \(skip)")
            }
        }
    }

    func testSelfSpeculationSearchesOnTheFlyAndWithATrimmedHead() throws {
        for arch in Self.architectures {
            var searched: [SelfSpeculativeDrafter] = []
            try assertLossless(arch, "self with search", requests: 2) { target in
                let d = try SelfSpeculativeDrafter(model: target, head: TrimmedHead(model: target, tokens: try self.subsets(target).covering),
                                                   searchOptions: LayerSkipSearch.Options(draftLength: 4, verifyCost: 1.2, maxEvaluations: 20))
                d.minSearchTokens = 8
                searched.append(d)
                return d
            }
            for d in searched {
                let result = try XCTUnwrap(d.searchResult, "\(arch): the first request ran the search")
                XCTAssertLessThanOrEqual(result.evaluations, 20)
                XCTAssertEqual(d.skip, result.skip)
            }
        }
    }

    func testSkipSetsForAnotherModelAreRefused() throws {
        let model = try target("llama")
        XCTAssertThrowsError(try SelfSpeculativeDrafter(model: model, skip: try LayerSkip(layerCount: 5)))
    }

    func testLayerSkipSearchKeepsItsBudgetAndNeverChoosesWorseThanNothing() throws {
        for arch in Self.architectures {
            let model = try target(arch)
            let continuation = try Tiny.greedy(model, prompt: Self.prompt, count: 24)
            let sample = LayerSkipSearch.Sample(prompt: Self.prompt, continuation: continuation)
            let options = LayerSkipSearch.Options(draftLength: 4, verifyCost: 1.2, maxEvaluations: 30)
            let result = try LayerSkipSearch.search(model: model, samples: [sample], options: options)
            XCTAssertLessThanOrEqual(result.evaluations, 30)
            XCTAssertEqual(result.positions, continuation.count)
            XCTAssertEqual(model.position, 0, "the search leaves the cache empty")
            let nothing = LayerSkipSearch.speedup(acceptance: 1, relativeCost: 1, draftLength: 4, verifyCost: 1.2)
            XCTAssertGreaterThanOrEqual(result.estimatedSpeedup, nothing)
            XCTAssertEqual(result.relativeCost, model.relativeCost(skip: result.skip), accuracy: 1e-12)
            // The reported agreement is what the set gives: re-measure it by hand.
            model.reset()
            _ = try model.forward(Array(Self.prompt.dropLast()), logits: .last)
            let batch = [Self.prompt.last!] + continuation.dropLast()
            let logits = try model.forward(batch, logits: .all, skip: result.skip)
            let same = (0..<logits.rows).filter { Sampler.argmax(logits[$0]) == continuation[$0] }.count
            XCTAssertEqual(result.agreement, Double(same) / Double(batch.count), accuracy: 1e-12, arch)
            // The same search again gives the same set.
            XCTAssertEqual(try LayerSkipSearch.search(model: model, samples: [sample], options: options), result)
        }
        XCTAssertThrowsError(try LayerSkipSearch.search(model: try target("llama"), samples: [.init(prompt: [1], continuation: [])]))
    }

    func testSpeedupObjectiveIsTheRoundArithmetic() {
        // α = 0.8, k = 4, c = 0.1, V = 1.2: (1 − 0.8⁵) / (0.2 · 1.6) = 2.101 (the 2.1x)
        XCTAssertEqual(LayerSkipSearch.speedup(acceptance: 0.8, relativeCost: 0.1, draftLength: 4, verifyCost: 1.2), 2.101, accuracy: 1e-3)
        XCTAssertEqual(LayerSkipSearch.speedup(acceptance: 1, relativeCost: 0.5, draftLength: 3, verifyCost: 1), 4 / 2.5, accuracy: 1e-12)
        XCTAssertEqual(LayerSkipSearch.speedup(acceptance: 0, relativeCost: 0, draftLength: 4, verifyCost: 1), 1, accuracy: 1e-12)
    }

    // MARK: chain

    func testChainsAreLossless() throws {
        for arch in Self.architectures {
            let t = LosslessnessTests.targets[arch] ?? (1, 0.5)
            var chains: [ChainDrafter] = []
            try assertLossless(arch, "chain lookup, suffix, self", requests: 2) { target in
                let c = try ChainDrafter([PromptLookupDrafter(), SuffixTreeDrafter(maxDepth: 16),
                                          SelfSpeculativeDrafter(model: target, skip: try LayerSkip(layerCount: 3, feedForward: [1]))])
                chains.append(c)
                return c
            }
            XCTAssertTrue(chains.contains { $0.stats[0].proposals > 0 }, "\(arch): lookup proposed")
            // A first step that never proposes hands every round to the next.
            var handed: [ChainDrafter] = []
            try assertLossless(arch, "chain none, self") { target in
                let c = try ChainDrafter([NoDrafter(), SelfSpeculativeDrafter(model: target, skip: try LayerSkip(layerCount: 3, feedForward: [1]))])
                handed.append(c)
                return c
            }
            XCTAssertTrue(handed.allSatisfy { $0.stats[1].proposals > 0 && $0.stats[0].proposals == 0 }, arch)
            try assertLossless(arch, "chain lookup, model") { target in
                try ChainDrafter([PromptLookupDrafter(),
                                  DraftModelDrafter(draft: Tiny.model(arch, seed: t.seed, weightScale: t.scale * 0.8), target: target)])
            }
        }
    }

    func testChainTakesTheFirstProposalAndBenchesAStepThatKeepsFailing() throws {
        let always = ScriptedDrafter(name: "a", proposal: [1, 2])
        let backup = ScriptedDrafter(name: "b", proposal: [3])
        let chain = try ChainDrafter([always, backup])
        chain.patience = 2
        try chain.begin(prompt: [9])
        let sampling = SamplingParameters()
        XCTAssertEqual(try chain.draft(context: [9], maxTokens: 4, sampling: sampling).tokens, [1, 2])
        chain.accepted(context: [9, 5], acceptedCount: 0)
        XCTAssertEqual(try chain.draft(context: [9, 5], maxTokens: 4, sampling: sampling).tokens, [1, 2])
        chain.accepted(context: [9, 5, 5], acceptedCount: 0)  // second failure: `a` sits out 2 rounds
        XCTAssertEqual(try chain.draft(context: [9, 5, 5], maxTokens: 4, sampling: sampling).tokens, [3])
        chain.accepted(context: [9, 5, 5, 3], acceptedCount: 1)
        XCTAssertEqual(try chain.draft(context: [9, 5, 5, 3], maxTokens: 4, sampling: sampling).tokens, [3])
        chain.accepted(context: [9, 5, 5, 3, 3], acceptedCount: 1)
        XCTAssertEqual(try chain.draft(context: [9, 5, 5, 3, 3], maxTokens: 4, sampling: sampling).tokens, [1, 2], "asked again")
        XCTAssertEqual(chain.stats[0].skipped, 2)
        XCTAssertEqual(chain.stats[1].proposals, 2)
        XCTAssertEqual(chain.stats[1].accepted, 2)
        // Every step saw every round's acceptance, and a new request clears what was learned.
        XCTAssertEqual(always.acceptedCalls, 4)
        XCTAssertEqual(backup.acceptedCalls, 4)
        try chain.begin(prompt: [9])
        XCTAssertEqual(chain.stats, [ChainDrafter.StepStats(), ChainDrafter.StepStats()])
        XCTAssertThrowsError(try ChainDrafter([]))
    }

    func testComposedDraftersSkipAStepWhoseCatchUpTheGateRefuses() throws {
        let free = ScriptedDrafter(name: "free", proposal: [])
        let costly = ScriptedDrafter(name: "costly", proposal: [3, 4], catchUp: 50)
        let sampling = SamplingParameters()
        let chain = try ChainDrafter([free, costly])
        let hybrid = HybridDrafter(first: free, fallback: costly)
        for drafter in [chain, hybrid] as [any Drafter] {
            try drafter.begin(prompt: [9])
            XCTAssertEqual(drafter.catchUpTokens(context: [9]), 0, "the cheapest step's catch-up")
            XCTAssertEqual(try drafter.draft(context: [9], maxTokens: 4, sampling: sampling).tokens, [3, 4])
            drafter.setCatchUpGate { $0 <= 10 }
            XCTAssertEqual(try drafter.draft(context: [9], maxTokens: 4, sampling: sampling).tokens, [], "\(drafter.name)")
            drafter.setCatchUpGate { $0 <= 50 }
            XCTAssertEqual(try drafter.draft(context: [9], maxTokens: 4, sampling: sampling).tokens, [3, 4])
            drafter.setCatchUpGate(nil)
        }
        // A free step that proposes drafts whatever the gate says.
        let chain2 = try ChainDrafter([ScriptedDrafter(name: "lookup", proposal: [7]), costly])
        chain2.setCatchUpGate { _ in false }
        XCTAssertEqual(try chain2.draft(context: [9], maxTokens: 4, sampling: sampling).tokens, [7])
        XCTAssertEqual(chain2.catchUpTokens(context: [9]), 0)
    }

    // MARK: cross-vocabulary

    func testCrossVocabularyDraftsAreLosslessThroughADifferentTokenization() throws {
        for arch in Self.architectures {
            let t = LosslessnessTests.targets[arch] ?? (1, 0.5)
            let size = ByteVocabulary.size
            // The draft speaks another vocabulary: token d is the target's token (d · 7 + 3) mod size.
            let targetCodec = CharacterCodec(size: size) { $0 }
            let draftCodec = CharacterCodec(size: size) { Int32((Int($0) * 7 + 3) % size) }
            var drafters: [CrossVocabularyDrafter] = []
            let other = try assertLossless(arch, "cross-vocabulary") { target in
                let draft = try Tiny.model(arch, seed: t.seed, weightScale: t.scale) { $0.layers = 3 }
                let d = CrossVocabularyDrafter(drafter: try DraftModelDrafter(draft: draft, targetVocabularySize: size),
                                               targetCodec: targetCodec, draftCodec: draftCodec)
                drafters.append(d)
                return d
            }
            XCTAssertGreaterThan(other.drafted, 0, arch)
            // With the same vocabulary and the target's weights, the drafts are the target's own tokens.
            let same = try assertLossless(arch, "cross-vocabulary, same codec") { target in
                let draft = try Tiny.model(arch, seed: t.seed, weightScale: t.scale) { $0.layers = 3 }
                return CrossVocabularyDrafter(drafter: try DraftModelDrafter(draft: draft, targetVocabularySize: size),
                                              targetCodec: targetCodec, draftCodec: targetCodec)
            }
            XCTAssertEqual(same.accepted, same.drafted, arch)
            XCTAssertGreaterThan(same.drafted, 0, arch)
        }
    }

    func testCrossVocabularyDraftsNothingWhenSampling() throws {
        let model = try target("llama")
        let codec = CharacterCodec(size: ByteVocabulary.size) { $0 }
        let d = CrossVocabularyDrafter(drafter: try DraftModelDrafter(draft: model, targetVocabularySize: ByteVocabulary.size),
                                       targetCodec: codec, draftCodec: codec)
        XCTAssertEqual(try d.draft(context: Self.prompt, maxTokens: 4, sampling: SamplingParameters(temperature: 1)), .empty)
    }
}

/// Each token is one character (U+0100 + its id in the codec's own vocabulary); `toTarget` maps the
/// codec's ids to the characters' canonical ids, so two codecs with different maps are two
/// vocabularies over the same text.
final class CharacterCodec: TextCodec {
    let size: Int
    let toCanonical: [Int32]
    let fromCanonical: [Int32]
    init(size: Int, _ map: (Int32) -> Int32) {
        self.size = size
        toCanonical = (0..<Int32(size)).map(map)
        var inverse = [Int32](repeating: 0, count: size)
        for (i, c) in toCanonical.enumerated() { inverse[Int(c)] = Int32(i) }
        fromCanonical = inverse
    }
    func encode(_ text: String, atStart: Bool) -> [Int32] {
        text.unicodeScalars.compactMap { s in
            let c = Int(s.value) - 0x100
            return c >= 0 && c < size ? fromCanonical[c] : nil
        }
    }
    func decode(_ tokens: [Int32]) -> String {
        String(String.UnicodeScalarView(tokens.compactMap { Unicode.Scalar(0x100 + UInt32(toCanonical[Int($0)])) }))
    }
}

/// Proposes a fixed draft and counts the lifecycle calls.
final class ScriptedDrafter: Drafter {
    let name: String
    let proposal: [Int32]
    var acceptedCalls = 0
    /// What ``catchUpTokens(context:)`` reports.
    var catchUp = 0
    init(name: String, proposal: [Int32], catchUp: Int = 0) {
        self.name = name
        self.proposal = proposal
        self.catchUp = catchUp
    }
    func catchUpTokens(context: [Int32]) -> Int { catchUp }
    func begin(prompt: [Int32]) throws {}
    func draft(context: [Int32], maxTokens: Int, sampling: SamplingParameters) throws -> Draft {
        Draft(tokens: Array(proposal.prefix(maxTokens)))
    }
    func accepted(context: [Int32], acceptedCount: Int) { acceptedCalls += 1 }
    func end(context: [Int32]) {}
}

/// Passes every call through to `inner` and shows each draft to `onDraft`.
final class RecordingDrafter: Drafter {
    let inner: any Drafter
    let onDraft: (Draft) -> Void
    init(_ inner: any Drafter, onDraft: @escaping (Draft) -> Void) {
        self.inner = inner
        self.onDraft = onDraft
    }
    var name: String { inner.name }
    func begin(prompt: [Int32]) throws { try inner.begin(prompt: prompt) }
    func draft(context: [Int32], maxTokens: Int, sampling: SamplingParameters) throws -> Draft {
        let d = try inner.draft(context: context, maxTokens: maxTokens, sampling: sampling)
        onDraft(d)
        return d
    }
    func accepted(context: [Int32], acceptedCount: Int) { inner.accepted(context: context, acceptedCount: acceptedCount) }
    func end(context: [Int32]) { inner.end(context: context) }
}
