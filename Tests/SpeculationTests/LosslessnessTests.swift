import XCTest
import SpecDecKernels
import SpecDecModel
import SpecDecSpeculation
import SpecDecTestSupport

/// Greedy speculative decoding must reproduce plain greedy decoding token for token, whatever the
/// drafter, the draft length and the architecture.
final class LosslessnessTests: XCTestCase {
    static let architectures = ["llama", "qwen2", "gemma3"]
    static let draftLengths = [1, 2, 4, 8]
    /// Repetitive, so that model-free drafters find matches.
    static let prompt: [Int32] = [10, 20, 30, 40, 50, 10, 20, 30, 40, 50, 10, 20, 30]
    static let newTokens = 40
    /// Seed and weight scale per architecture, picked (measured) so that greedy output falls into
    /// loops: 13, 15 and 4 distinct tokens in 40. Larger scales make the distribution peakier but, in
    /// these tiny models, do not by themselves make the output repetitive.
    static let targets: [String: (seed: UInt64, scale: Float)] = ["llama": (3, 0.5), "qwen2": (3, 1.5), "gemma3": (8, 1.5)]

    private func target(_ arch: String) throws -> Transformer {
        let t = Self.targets[arch] ?? (1, 0.5)
        return try Tiny.model(arch, seed: t.seed, weightScale: t.scale)
    }

    /// Runs every draft length with the greedy verifier, and k = 4 with speculative sampling too;
    /// returns the summed stats.
    @discardableResult
    private func assertMatchesPlainGreedy(_ arch: String, _ label: String, requests: Int = 1,
                                          makeDrafter: (Transformer) throws -> Drafter,
                                          file: StaticString = #filePath, line: UInt = #line) throws -> SpeculationStats {
        try assertSpeculationMatchesPlainGreedy(try target(arch), prompt: Self.prompt, newTokens: Self.newTokens, "\(label) on \(arch)",
                                                draftLengths: Self.draftLengths, requests: requests, makeDrafter: makeDrafter,
                                                file: file, line: line)
    }

    /// Quantized target and draft models under every kernel set this CPU runs: greedy speculation
    /// (draft model and prompt lookup) gives the tokens of plain greedy decoding.
    func testSpeculationEqualsPlainGreedyUnderEveryKernelSet() throws {
        for kernels in KernelSet.supported {
            for arch in Self.architectures {
                let t = Self.targets[arch] ?? (1, 0.5)
                let quantized: (inout TinyModel.Spec) -> Void = { $0.weightType = .q8_0; $0.embeddingType = .q4_0 }
                let target = try Tiny.model(arch, seed: t.seed, weightScale: t.scale, kernels: kernels, quantized)
                let reference = try Tiny.greedy(target, prompt: Self.prompt, count: Self.newTokens)
                let drafters: [(String, Drafter)] = [
                    ("draft model", try DraftModelDrafter(draft: Tiny.model(arch, seed: t.seed, weightScale: t.scale * 0.8,
                                                                            kernels: kernels, quantized), target: target)),
                    ("lookup", try PromptLookupDrafter()),
                ]
                for (label, drafter) in drafters {
                    let decoder = try SpeculativeDecoder(target: target, drafter: drafter, verifier: GreedyVerifier(),
                                                         sampling: SamplingParameters(), draftLength: 4)
                    XCTAssertEqual(try decoder.generate(prompt: Self.prompt, maxNewTokens: Self.newTokens), reference,
                                   "\(kernels) \(arch) \(label)")
                    XCTAssertGreaterThan(decoder.stats.drafted, 0, "\(kernels) \(arch) \(label) drafted nothing")
                }
            }
        }
    }

    func testDraftModelSpeculationEqualsPlainGreedyForEveryArchitectureAndDraftLength() throws {
        for arch in Self.architectures {
            // Another random model: mostly rejected drafts.
            let other = try assertMatchesPlainGreedy(arch, "other-seed draft") { target in
                try DraftModelDrafter(draft: Tiny.model(arch, seed: 99, weightScale: 1) {
                    $0.dim = 32; $0.heads = 2; $0.kvHeads = 1; $0.ffn = 64; $0.layers = 1
                }, target: target)
            }
            // The same weights scaled down: the argmax often but not always agrees.
            let rescaled = try assertMatchesPlainGreedy(arch, "rescaled draft") { target in
                let t = Self.targets[arch] ?? (1, 0.5)
                return try DraftModelDrafter(draft: Tiny.model(arch, seed: t.seed, weightScale: t.scale * 0.8), target: target)
            }
            XCTAssertLessThan(other.acceptanceRate, 0.5, arch)
            XCTAssertGreaterThan(rescaled.accepted, 0, arch)
            XCTAssertLessThan(rescaled.accepted, rescaled.drafted, arch)
            print("[\(arch)] other-seed draft:", other.acceptanceRate, "rescaled draft:", rescaled.acceptanceRate)
        }
    }

    func testConfidenceLimitedDraftsEqualPlainGreedyAndEndAtUnsureTokens() throws {
        for arch in Self.architectures {
            let t = Self.targets[arch] ?? (1, 0.5)
            // The threshold: the median of the draft model's confidence along its own greedy output, so
            // that drafts are cut often but not always.
            let probe = try Tiny.model(arch, seed: t.seed, weightScale: t.scale * 0.8)
            var logits = try probe.forward(Self.prompt, logits: .last)
            var confidences: [Float] = []
            for _ in 0..<Self.newTokens {
                let row = logits[logits.rows - 1]
                confidences.append(Sampler.topProbability(row))
                logits = try probe.forward(token: Sampler.argmax(row), logits: .last)
            }
            let threshold = confidences.sorted()[confidences.count / 2]
            var drafters: [DraftModelDrafter] = []
            let stats = try assertMatchesPlainGreedy(arch, "confidence-limited draft") { target in
                let d = try DraftModelDrafter(draft: Tiny.model(arch, seed: t.seed, weightScale: t.scale * 0.8), target: target)
                d.minProbability = threshold
                drafters.append(d)
                return d
            }
            XCTAssertGreaterThan(stats.accepted, 0, arch)
            XCTAssertGreaterThan(drafters.map(\.stoppedByConfidence).reduce(0, +), 0, "\(arch): no draft was cut")
        }
    }

    func testHybridDraftsEqualPlainGreedyAndUseBothDrafters() throws {
        for arch in Self.architectures {
            let t = Self.targets[arch] ?? (1, 0.5)
            var hybrids: [HybridDrafter] = []
            try assertMatchesPlainGreedy(arch, "hybrid") { target in
                let h = HybridDrafter(first: try PromptLookupDrafter(),
                                      fallback: try DraftModelDrafter(draft: Tiny.model(arch, seed: t.seed, weightScale: t.scale * 0.8),
                                                                      target: target))
                hybrids.append(h)
                return h
            }
            // the repetitive prompt gives lookup matches, and lookup has none at first
            XCTAssertGreaterThan(hybrids.map(\.firstDrafts).reduce(0, +), 0, arch)
            XCTAssertGreaterThan(hybrids.map(\.fallbackDrafts).reduce(0, +), 0, arch)
        }
    }

    func testHybridTakesTheLookupDraftWhenThereIsOneAndTheModelsOtherwise() throws {
        let target = try target("llama")
        let model = try DraftModelDrafter(draft: Tiny.model("llama", seed: 3, weightScale: 0.4), target: target)
        let hybrid = HybridDrafter(first: try PromptLookupDrafter(), fallback: model)
        let sampling = SamplingParameters()
        try hybrid.begin(prompt: Self.prompt)
        // "10 20 30" recurs in the prompt: lookup proposes what followed it
        let matched = try hybrid.draft(context: Self.prompt, maxTokens: 4, sampling: sampling)
        let lookup = try PromptLookupDrafter().draft(context: Self.prompt, maxTokens: 4, sampling: sampling)
        XCTAssertFalse(lookup.tokens.isEmpty)
        XCTAssertEqual(matched, lookup)
        XCTAssertEqual([hybrid.firstDrafts, hybrid.fallbackDrafts], [1, 0])
        // no n-gram of the context recurs: the draft model drafts
        let fresh: [Int32] = [1, 2, 3, 4, 5, 6]
        let drafted = try hybrid.draft(context: fresh, maxTokens: 4, sampling: sampling)
        XCTAssertEqual(drafted.tokens.count, 4)
        XCTAssertNotNil(drafted.distributions)
        XCTAssertEqual([hybrid.firstDrafts, hybrid.fallbackDrafts], [1, 1])
        XCTAssertEqual(hybrid.lastSource, 1)
        let alone = try DraftModelDrafter(draft: Tiny.model("llama", seed: 3, weightScale: 0.4), target: target)
        XCTAssertEqual(drafted.tokens, try alone.draft(context: fresh, maxTokens: 4, sampling: sampling).tokens)
        // Source plans: each part drafts at most its own length; a part planned at 0 sits out.
        XCTAssertEqual(hybrid.sourceCount, 2)
        hybrid.setSourcePlans([SourcePlan(length: 0), SourcePlan(length: 2)])
        let modelOnly = try hybrid.draft(context: Self.prompt, maxTokens: 4, sampling: sampling)
        XCTAssertEqual(modelOnly.tokens.count, 2)
        XCTAssertEqual(hybrid.lastSource, 1)
        hybrid.setSourcePlans([SourcePlan(length: 1), SourcePlan(length: 0)])
        XCTAssertEqual(try hybrid.draft(context: Self.prompt, maxTokens: 4, sampling: sampling).tokens, Array(lookup.tokens.prefix(1)))
        XCTAssertEqual(hybrid.lastSource, 0)
        XCTAssertEqual(try hybrid.draft(context: fresh, maxTokens: 4, sampling: sampling), .empty)
        XCTAssertNil(hybrid.lastSource)
        hybrid.setSourcePlans([SourcePlan(length: 4), SourcePlan(length: 4, catchUpGate: { _ in false })])
        XCTAssertEqual(try hybrid.draft(context: fresh + [7], maxTokens: 4, sampling: sampling), .empty, "the fallback's gate refuses its catch-up")
        hybrid.setSourcePlans(nil)
    }

    func testADraftStopsBeforeTheFirstTokenBelowTheThreshold() throws {
        for arch in Self.architectures {
            let target = try target(arch)
            let t = Self.targets[arch] ?? (1, 0.5)
            let draftModel = try Tiny.model(arch, seed: t.seed, weightScale: t.scale * 0.8)
            let free = try DraftModelDrafter(draft: draftModel, target: target)
            let context = Self.prompt
            let full = try free.draft(context: context, maxTokens: 8, sampling: SamplingParameters())
            XCTAssertEqual(full.tokens.count, 8, arch)
            // The draft model's confidence in each of those tokens, from its own logits.
            var confidences: [Float] = []
            let probe = try Tiny.model(arch, seed: t.seed, weightScale: t.scale * 0.8)
            var logits = try probe.forward(context, logits: .last)
            for token in full.tokens {
                confidences.append(Sampler.topProbability(logits[logits.rows - 1]))
                logits = try probe.forward(token: token, logits: .last)
            }
            // A threshold between two of them: the draft is the prefix before the first one below it.
            let threshold = (confidences.sorted()[3] + confidences.sorted()[4]) / 2
            let expected = confidences.firstIndex { $0 < threshold } ?? 8
            let limited = try DraftModelDrafter(draft: Tiny.model(arch, seed: t.seed, weightScale: t.scale * 0.8), target: target)
            limited.minProbability = threshold
            let short = try limited.draft(context: context, maxTokens: 8, sampling: SamplingParameters())
            XCTAssertEqual(short.tokens, Array(full.tokens.prefix(expected)), "\(arch) confidences \(confidences)")
            XCTAssertEqual(limited.stoppedByConfidence, expected < 8 ? 1 : 0, arch)
            // A certain-only threshold drafts nothing from these models; a zero one everything.
            limited.minProbability = 1
            XCTAssertEqual(try limited.draft(context: context, maxTokens: 8, sampling: SamplingParameters()).tokens, [], arch)
            limited.minProbability = 0
            XCTAssertEqual(try limited.draft(context: context, maxTokens: 8, sampling: SamplingParameters()).tokens, full.tokens, arch)
        }
    }

    func testTheTargetAsItsOwnDraftAcceptsEveryDraftTokenAndEqualsPlainGreedy() throws {
        for arch in Self.architectures {
            let stats = try assertMatchesPlainGreedy(arch, "self draft") { _ in
                try DraftModelDrafter(draft: self.target(arch), targetVocabularySize: ByteVocabulary.size)
            }
            XCTAssertEqual(stats.accepted, stats.drafted, arch)
        }
    }

    func testPromptLookupSpeculationEqualsPlainGreedyForEveryArchitectureAndDraftLength() throws {
        for arch in Self.architectures {
            let stats = try assertMatchesPlainGreedy(arch, "prompt lookup") { _ in try PromptLookupDrafter(minNgram: 1, maxNgram: 3) }
            print("[\(arch)] prompt lookup:", stats.acceptanceRate, stats.meanAccepted)
            XCTAssertGreaterThan(stats.accepted, 0, arch)
        }
    }

    func testSuffixTreeSpeculationEqualsPlainGreedyForEveryArchitectureAndDraftLengthAcrossRequests() throws {
        for arch in Self.architectures {
            // The second request drafts from the global tree holding the first one.
            let stats = try assertMatchesPlainGreedy(arch, "suffix tree", requests: 2) { _ in try SuffixTreeDrafter(maxDepth: 16) }
            print("[\(arch)] suffix tree:", stats.acceptanceRate, stats.meanAccepted)
            XCTAssertGreaterThan(stats.accepted, 0, arch)
        }
    }
}
