import XCTest
import SpecDecKernels
import SpecDecModel
import SpecDecSpeculation
import SpecDecTestSupport

/// Token-tree speculation: tree drafts (draft model, prompt lookup, suffix tree) verified in one
/// forward keep plain greedy output on every architecture; the tree verifiers reduce to the chain
/// verifiers on a chain; multi-candidate speculative sampling keeps the target's distribution.
final class TreeSpeculationTests: XCTestCase {
    static let architectures = ["llama", "qwen2", "gemma3"]
    static let prompt: [Int32] = [10, 20, 30, 40, 50, 10, 20, 30, 40, 50, 10, 20, 30, 41, 50, 10, 20]
    static let targets: [String: (seed: UInt64, scale: Float)] = ["llama": (3, 0.5), "qwen2": (3, 1.5), "gemma3": (8, 1.5)]

    private func run(_ target: Transformer, _ drafter: Drafter, budget: TreeBudget, depth: Int, costModel: CostModel? = nil,
                     verifier: any Verifier = GreedyVerifier()) throws -> ([Int32], SpeculationStats) {
        let decoder = try SpeculativeDecoder(target: target, drafter: drafter, verifier: verifier,
                                             sampling: SamplingParameters(), draftLength: depth)
        decoder.treeBudget = budget
        decoder.costModel = costModel
        let out = try decoder.generate(prompt: Self.prompt, maxNewTokens: 40)
        return (out, decoder.stats)
    }

    func testGreedyTreeSpeculationEqualsPlainGreedyOnEveryArchitecture() throws {
        for arch in Self.architectures {
            let t = Self.targets[arch] ?? (1, 0.5)
            let target = try Tiny.model(arch, seed: t.seed, weightScale: t.scale)
            let reference = try Tiny.greedy(target, prompt: Self.prompt, count: 40)
            for (width, nodes, depth) in [(2, 6, 3), (3, 12, 4), (4, 24, 8)] {
                let budget = TreeBudget(maxNodes: nodes, maxDepth: depth, maxWidth: width)
                let drafters: [(String, Drafter)] = [
                    ("draft model", try DraftModelDrafter(draft: Tiny.model(arch, seed: t.seed, weightScale: t.scale * 0.8), target: target)),
                    ("other draft model", try DraftModelDrafter(draft: Tiny.model(arch, seed: 99, weightScale: 1), target: target)),
                    ("lookup", try PromptLookupDrafter(minNgram: 1, maxNgram: 3)),
                    ("suffix", try SuffixTreeDrafter(maxDepth: 16, minConfidence: 0)),
                ]
                for (label, drafter) in drafters {
                    for verifier in [GreedyVerifier() as any Verifier, SpeculativeSamplingVerifier()] {
                        let (out, stats) = try run(target, drafter, budget: budget, depth: depth, verifier: verifier)
                        XCTAssertEqual(out, reference, "\(arch) \(label) \(budget) \(verifier.name)")
                        if label.hasSuffix("draft model") || label == "lookup" {
                            XCTAssertGreaterThan(stats.treeSteps, 0, "\(arch) \(label) \(budget): no tree was drafted")
                        }
                        XCTAssertLessThanOrEqual(stats.maxTreeNodes, nodes)
                    }
                }
            }
        }
    }

    func testTreesWithTheCostModelStayLossless() throws {
        let target = try Tiny.model("qwen2", seed: 3, weightScale: 1.5)
        let reference = try Tiny.greedy(target, prompt: Self.prompt, count: 40)
        // A machine where verifying more tokens costs almost nothing: whole trees pay.
        let profile = ForwardCostProfile(sizes: [1, 32], seconds: [0.01, 0.0101])
        for drafter in [try DraftModelDrafter(draft: Tiny.model("qwen2", seed: 3, weightScale: 1.2), target: target) as Drafter,
                        try PromptLookupDrafter(minNgram: 1, maxNgram: 3)] {
            let (out, stats) = try run(target, drafter, budget: TreeBudget(maxNodes: 16, maxDepth: 6, maxWidth: 3), depth: 6,
                                       costModel: CostModel(profile: profile, maxDraft: 6))
            XCTAssertEqual(out, reference, drafter.name)
            if drafter is DraftModelDrafter { XCTAssertGreaterThan(stats.treeSteps, 0, drafter.name) }
            print("[cost model + trees] \(drafter.name): drafted \(stats.drafted) in \(stats.draftSteps) rounds, sizes \(stats.verifiedSizes)")
            XCTAssertEqual(stats.verifiedSizes.reduce(0, +), stats.draftSteps)
        }
    }

    func testTreeVerifiersOnAChainEqualTheChainVerifiers() throws {
        var rng = SplitMix64(seed: 5)
        let vocab = 12
        let rows = (0..<5).map { _ in (0..<vocab).map { _ in Float(rng.next() % 1000) / 250 } }
        let tokens: [Int32] = [3, 7, 7, 1]
        let chain = Draft(tokens: tokens)
        let tree = Draft(tokens: tokens, parents: [-1, 0, 1, 2])
        XCTAssertFalse(tree.isTree)
        let buffers = rows.map { r -> UnsafeBufferPointer<Float> in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: r.count)
            p.initialize(from: r, count: r.count)
            return UnsafeBufferPointer(start: p, count: r.count)
        }
        defer { buffers.forEach { $0.deallocate() } }
        for seed in 0..<200 as Range<UInt64> {
            for temperature: Float in [0, 0.8] {
                let sampling = SamplingParameters(temperature: temperature, seed: seed)
                var verifiers: [any Verifier] = [GreedyVerifier(), SpeculativeSamplingVerifier(), try TopBetaVerifier(beta: 2, tau: 2)]
                for i in verifiers.indices {
                    if temperature > 0 && verifiers[i].name == "greedy" { continue }
                    var s1 = Sampler(sampling), s2 = Sampler(sampling)
                    let a = verifiers[i].verify(draft: chain, rows: { buffers[$0] }, sampler: &s1)
                    let b = verifiers[i].verifyTree(draft: tree, rows: { buffers[$0] }, sampler: &s2)
                    XCTAssertEqual(a, b, "\(verifiers[i].name) seed \(seed) T \(temperature)")
                }
            }
        }
    }

    /// Multi-candidate speculative sampling: with three candidate roots (point masses, and draws
    /// without replacement from a draft distribution), the first committed token follows p exactly.
    func testMultiCandidateSamplingFollowsTheTargetDistribution() throws {
        let logits: [Float] = [2.0, 1.5, 1.0, 0.2, -0.5, 0.7]
        let sampling = SamplingParameters(temperature: 1, seed: 0)
        let row = UnsafeMutablePointer<Float>.allocate(capacity: logits.count)
        row.initialize(from: logits, count: logits.count)
        defer { row.deallocate() }
        let buffer = UnsafeBufferPointer(start: row, count: logits.count)
        let p = Sampler.distribution(buffer, sampling)
        var exact: [Int32: Double] = [:]
        for (t, x) in zip(p.tokens, p.probabilities) { exact[t] = Double(x) }
        // q: a different distribution; siblings drawn without replacement, each with its conditional q.
        let q = TokenDistribution(tokens: [0, 1, 2, 3, 4, 5], probabilities: [0.1, 0.1, 0.4, 0.2, 0.1, 0.1])
        func without(_ d: TokenDistribution, _ drawn: [Int32]) -> TokenDistribution {
            let kept = zip(d.tokens, d.probabilities).filter { !drawn.contains($0.0) }
            let total = kept.map(\.1).reduce(0, +)
            return TokenDistribution(tokens: kept.map(\.0), probabilities: kept.map { $0.1 / total })
        }
        let n = 20_000
        for mode in ["point masses", "drawn without replacement"] {
            var counts: [Int32: Int] = [:]
            var verifier = SpeculativeSamplingVerifier()
            var rng = SplitMix64(seed: 42)
            var sampler = Sampler(sampling)
            for _ in 0..<n {
                let draft: Draft
                if mode == "point masses" {
                    draft = Draft(tokens: [4, 0, 2], parents: [-1, -1, -1])
                } else {
                    var drawn: [Int32] = [], qs: [TokenDistribution] = []
                    for _ in 0..<3 {
                        let qi = without(q, drawn)
                        qs.append(qi)
                        drawn.append(qi.draw(Float(rng.next() >> 40) / Float(1 << 24)))
                    }
                    draft = Draft(tokens: drawn, distributions: qs, parents: [-1, -1, -1])
                }
                let v = verifier.verifyTree(draft: draft, rows: { _ in buffer }, sampler: &sampler)
                let first = v.path.first.map { draft.tokens[$0] } ?? v.nextToken
                counts[first, default: 0] += 1
            }
            let tv = totalVariation(counts, total: n, exact)
            XCTAssertLessThan(tv, tvThreshold(exact, samples: n), "\(mode): TV \(tv)")
        }
    }

    func testTrieDraftsMergeSharedPrefixesWithinTheBudget() {
        let d = scoredTrie([[1, 2, 3], [1, 2, 4], [5, 6], [1, 7]], budget: TreeBudget(maxNodes: 10, maxDepth: 3, maxWidth: 2))
        XCTAssertEqual(d.tokens, [1, 2, 3, 4, 5, 6, 7])
        XCTAssertEqual(d.parents, [-1, 0, 1, 1, -1, 4, 0])
        let narrow = trieDraft([[1, 2], [1, 3], [1, 4]], budget: TreeBudget(maxNodes: 10, maxDepth: 3, maxWidth: 2))
        XCTAssertEqual(narrow.tokens, [1, 2, 3])  // a third child of 1 is over the width
        XCTAssertEqual(d.parents?.count, d.tokens.count)
        XCTAssertEqual(d.children[0].map { d.tokens[$0] }, [1, 5])
        XCTAssertEqual(d.scores?.first, 0.75)
        let small = trieDraft([[1, 2, 3], [1, 2, 4]], budget: TreeBudget(maxNodes: 3, maxDepth: 8, maxWidth: 4))
        XCTAssertEqual(small.tokens, [1, 2, 3])
        let deep = trieDraft([[1, 2, 3, 4]], budget: TreeBudget(maxNodes: 8, maxDepth: 2, maxWidth: 4))
        XCTAssertEqual(deep.tokens, [1, 2])
    }

    func testPromptLookupProposesSeveralMatchesAsBranches() throws {
        let drafter = try PromptLookupDrafter(minNgram: 1, maxNgram: 2)
        let context: [Int32] = [1, 2, 3, 9, 1, 2, 4, 8, 1, 2]
        let d = try drafter.draftTree(context: context, budget: TreeBudget(maxNodes: 8, maxDepth: 2, maxWidth: 3), sampling: .init())
        XCTAssertTrue(d.isTree)
        XCTAssertEqual(Set(d.children[0].map { d.tokens[$0] }), [4, 3])  // after "1 2": 4 (most recent), then 3
        XCTAssertEqual(d.tokens.first, 4)
    }

    func testSuffixTreeListsChildrenByFrequency() {
        var tree = SuffixTree(maxDepth: 4)
        tree.insert(document: [1, 2, 1, 3, 1, 2, 1, 2])
        let children = tree.children(of: tree.node(for: [1]) ?? -1)
        XCTAssertEqual(children.map(\.token), [2, 3])
        XCTAssertEqual(children.first?.share ?? 0, 0.75, accuracy: 1e-6)
    }
}
