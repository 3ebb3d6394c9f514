import XCTest
import SpecDecModel
import SpecDecSpeculation
import SpecDecTestSupport

/// The cost model's arithmetic, the confidence policy's rule, and V(n) measured on a real forward.
final class CostModelTests: XCTestCase {
    func testTheProfileInterpolatesAndExtrapolates() {
        let p = ForwardCostProfile(sizes: [1, 2, 4], seconds: [1, 1.5, 2.5])
        XCTAssertEqual(p.time(tokens: 1), 1)
        XCTAssertEqual(p.time(tokens: 3), 2)
        XCTAssertEqual(p.time(tokens: 6), 3.5)
        XCTAssertEqual(p.relative(tokens: 4), 2.5)
        p.observe(tokens: 2, seconds: 2.5, rate: 0.5)
        XCTAssertEqual(p.time(tokens: 2), 2)
    }

    func testDraftingIsTurnedOffWhenItCannotPayAndProbedAgain() {
        // Verifying 9 tokens costs 3 plain tokens; drafting costs 0.6 of a plain token per token.
        let profile = ForwardCostProfile(sizes: [1, 9], seconds: [1, 3])
        let model = CostModel(profile: profile, maxDraft: 8, prior: 0.6)
        for _ in 0..<6 { model.observe(height: 4, accepted: 0, draftSeconds: 2.4, draftedTokens: 4) }
        var plans: [(Int, Bool)] = []
        for _ in 0..<model.probeInterval { plans.append(model.plan()) }
        XCTAssertTrue(plans.dropLast().allSatisfy { $0.0 == 0 && !$0.1 }, "\(plans)")
        XCTAssertEqual(plans.last?.1, true)
        XCTAssertGreaterThan(plans.last?.0 ?? 0, 0)
    }

    func testUnsuccessfulProbesBackOffAndADraftedRoundResetsTheInterval() {
        let profile = ForwardCostProfile(sizes: [1, 9], seconds: [1, 3])
        let model = CostModel(profile: profile, maxDraft: 8, prior: 0.6)
        for _ in 0..<6 { model.observe(height: 4, accepted: 0, draftSeconds: 2.4, draftedTokens: 4) }
        // Plain rounds until each probe; every probe that keeps drafting off doubles the wait.
        var gaps: [Int] = []
        var since = 0
        for _ in 0..<400 {
            let plan = model.plan()
            since += 1
            if plan.probe {
                gaps.append(since); since = 0
                model.observe(height: 2, accepted: 0, draftSeconds: 1.2, draftedTokens: 2)
            }
        }
        XCTAssertEqual(Array(gaps.prefix(5)), [8, 16, 32, 64, 64], "\(gaps)")
        XCTAssertEqual(model.nextProbeInterval, model.maxProbeInterval)
        // Drafts that pay turn drafting on and the interval back to its start.
        for _ in 0..<20 { model.observe(height: 4, accepted: 4, draftSeconds: 0, draftedTokens: 4) }
        XCTAssertGreaterThan(model.plan().length, 0)
        XCTAssertEqual(model.nextProbeInterval, model.probeInterval)
    }

    func testDraftTimeAfterPlainRoundsIsNotTheCostOfADraftedToken() {
        let model = CostModel(profile: ForwardCostProfile(sizes: [1, 9], seconds: [1, 3]), maxDraft: 8)
        model.observe(height: 2, accepted: 2, draftSeconds: 0.2, draftedTokens: 2)
        XCTAssertEqual(model.draftSecondsPerToken ?? 0, 0.1, accuracy: 1e-12)
        // A probe whose draft time holds the drafter's catch-up does not move c.
        model.observe(height: 2, accepted: 2, draftSeconds: 3, draftedTokens: 2, steadyState: false)
        XCTAssertEqual(model.draftSecondsPerToken ?? 0, 0.1, accuracy: 1e-12)
        model.observe(height: 2, accepted: 2, draftSeconds: 0.4, draftedTokens: 2)
        XCTAssertEqual(model.draftSecondsPerToken ?? 0, 0.1 + model.rate * 0.1, accuracy: 1e-12)
    }

    func testOneMissDoesNotOutweighThePriorButManyDo() {
        let model = CostModel(profile: ForwardCostProfile(sizes: [1, 9], seconds: [1, 3]), maxDraft: 4, prior: 0.6)
        XCTAssertEqual(model.acceptance[0], 0.6, accuracy: 1e-12)
        model.observe(height: 4, accepted: 0, draftSeconds: 0, draftedTokens: 4)
        // (0 + 2 · 0.6) / (1 + 2)
        XCTAssertEqual(model.acceptance[0], 0.4, accuracy: 1e-12)
        for _ in 0..<60 { model.observe(height: 4, accepted: 0, draftSeconds: 0, draftedTokens: 4) }
        XCTAssertLessThan(model.acceptance[0], 0.1)
        for _ in 0..<60 { model.observe(height: 4, accepted: 4, draftSeconds: 0, draftedTokens: 4) }
        XCTAssertGreaterThan(model.acceptance[0], 0.9)
    }

    func testACatchUpIsPaidOnlyWhenTheRestOfTheRequestCanRepayIt() {
        // V(n) = 1 + (n − 1)/31 · 3 (V(32) = 4: 0.125 per batched token); free drafts, α from the prior.
        let model = CostModel(profile: ForwardCostProfile(sizes: [1, 32], seconds: [1, 4]), maxDraft: 4, prior: 0.9)
        model.optimism = 0
        XCTAssertEqual(model.catchUpSecondsPerToken, 0.125 * 0.5, accuracy: 1e-12)  // ratio 0.5 before c is known
        let k = model.plan().length
        XCTAssertGreaterThan(k, 0)
        let perToken = model.expectedSeconds(chain: k) / model.expectedTokens(chain: k)
        let saving = 1 - perToken  // per committed token
        // Break-even: n · 0.0625 = remaining · saving.
        let remaining = 100
        let breakEven = Double(remaining) * saving / 0.0625
        XCTAssertTrue(model.catchUpPays(tokens: Int(breakEven * 0.9), remaining: remaining, generated: 100_000, length: k))
        XCTAssertFalse(model.catchUpPays(tokens: Int(breakEven * 1.1) + 1, remaining: remaining, generated: 100_000, length: k))
        XCTAssertTrue(model.catchUpPays(tokens: 0, remaining: 1, generated: 0, length: k))
        XCTAssertFalse(model.catchUpPays(tokens: 5, remaining: 0, generated: 100_000, length: k))
        // Ski rental: early in a request the catch-up waits until the savings forgone (saving per token
        // × tokens generated) reach its price, whatever the budget.
        let n = 40  // 40 · 0.0625 = 2.5 s
        model.catchUpAllowance = .infinity  // the plain rule: rent s per token
        let tokensToRepay = 2.5 / saving
        XCTAssertFalse(model.catchUpPays(tokens: n, remaining: 100_000, generated: 0, length: k))
        XCTAssertFalse(model.catchUpPays(tokens: n, remaining: 100_000, generated: Int(tokensToRepay * 0.9), length: k))
        XCTAssertTrue(model.catchUpPays(tokens: n, remaining: 100_000, generated: Int(tokensToRepay * 1.1) + 1, length: k))
        // With the allowance ε the rent is capped at ε · V(1) (V(1) = 1) per token.
        model.catchUpAllowance = 0.05
        XCTAssertLessThan(0.05, saving)
        XCTAssertFalse(model.catchUpPays(tokens: n, remaining: 100_000, generated: Int(2.5 / 0.05 * 0.9), length: k))
        XCTAssertTrue(model.catchUpPays(tokens: n, remaining: 100_000, generated: Int(2.5 / 0.05 * 1.1), length: k))
        model.catchUpAllowance = .infinity
        // Without a prior, an observed c (0.25 of V(1)) prices the catch-up.
        model.observe(height: 4, accepted: 4, draftSeconds: 1, draftedTokens: 4)
        XCTAssertEqual(model.catchUpSecondsPerToken, 0.125 * 0.25, accuracy: 1e-12)
        // The draft model's cost prior prices it whatever c is (a chain's c mixes in free steps);
        // the plan still uses c.
        model.draftCostPrior = 0.4
        XCTAssertEqual(model.catchUpSecondsPerToken, 0.125 * 0.4, accuracy: 1e-12)
        XCTAssertEqual(model.expectedSeconds(chain: 2), 2 * 0.25 + model.profile.time(tokens: 3), accuracy: 1e-12)
    }

    func testALongPromptWithAShortBudgetIsDecodedPlainlyAndTheDraftModelNeverPrefills() throws {
        let target = try Tiny.model("llama", seed: 1, weightScale: 2)
        let draftModel = try Tiny.model("llama", seed: 2, weightScale: 2)
        // Drafting costs half a plain token per token and verification is expensive: a 120-token
        // catch-up is never repaid within 4 tokens, and is within 60 after a short prompt.
        let profile = ForwardCostProfile(sizes: [1, 32], seconds: [1, 8])
        let long = (0..<120).map { Int32(($0 * 7) % 200 + 3) }
        let reference = try Tiny.greedy(target, prompt: long, count: 4)
        let drafter = try DraftModelDrafter(draft: draftModel, target: target)
        let decoder = try SpeculativeDecoder(target: target, drafter: drafter, verifier: GreedyVerifier(),
                                             sampling: SamplingParameters(), draftLength: 4)
        decoder.costModel = CostModel(profile: profile, maxDraft: 4, prior: 0.9)
        XCTAssertEqual(try decoder.generate(prompt: long, maxNewTokens: 4), reference)
        XCTAssertEqual(decoder.stats.drafted, 0)
        // Every round but the last (a budget of one token leaves no room for a draft) was turned off.
        XCTAssertEqual(decoder.stats.speculationOff, decoder.stats.draftSteps - 1)
        XCTAssertEqual(drafter.evaluatedTokens, 0, "the draft model must not have evaluated the prompt")
        // A short prompt with room to repay its catch-up drafts (and stays lossless).
        let short: [Int32] = [5, 9, 14, 3]
        let shortDecoder = try SpeculativeDecoder(target: target, drafter: drafter, verifier: GreedyVerifier(),
                                                  sampling: SamplingParameters(), draftLength: 4)
        shortDecoder.costModel = CostModel(profile: ForwardCostProfile(sizes: [1, 32], seconds: [1, 1.5]), maxDraft: 4, prior: 0.9)
        XCTAssertEqual(try shortDecoder.generate(prompt: short, maxNewTokens: 60), try Tiny.greedy(target, prompt: short, count: 60))
        XCTAssertGreaterThan(shortDecoder.stats.drafted, 0)
    }

    func testASiblingSharesTheProfileAndSettingsButLearnsApart() {
        let model = CostModel(profile: ForwardCostProfile(sizes: [1, 9], seconds: [1, 3]), maxDraft: 4, prior: 0.7)
        model.catchUpAllowance = 0.5
        model.draftCostPrior = 0.3
        model.probeInterval = 5
        let sibling = model.sibling()
        XCTAssertTrue(sibling.profile === model.profile)
        XCTAssertEqual(sibling.catchUpAllowance, 0.5)
        XCTAssertEqual(sibling.draftCostPrior, 0.3)
        XCTAssertEqual(sibling.probeInterval, 5)
        XCTAssertEqual(sibling.prior, 0.7)
        for _ in 0..<10 { model.observe(height: 4, accepted: 0, draftSeconds: 0, draftedTokens: 4) }
        XCTAssertLessThan(model.acceptance[0], 0.2)
        XCTAssertEqual(sibling.acceptance[0], 0.7, accuracy: 1e-12, "observations stay with their model")
    }

    /// A chain whose first step always proposes wrong tokens and whose second proposes the target's
    /// own: with a cost model per step, the first is planned out and the second drafts on its own
    /// record (one shared model would average the two).
    func testAChainIsPlannedPerStep() throws {
        let target = try Tiny.model("llama", seed: 3, weightScale: 2)
        let prompt: [Int32] = [5, 9, 14, 3]
        let reference = try Tiny.greedy(target, prompt: prompt, count: 60)
        let vocab = Int32(target.config.vocabularySize)
        let wrong = OracleDrafter(reference: reference, promptCount: prompt.count) { ($0 + 1) % vocab }
        let right = OracleDrafter(reference: reference, promptCount: prompt.count) { $0 }
        let chain = try ChainDrafter([wrong, right])
        chain.patience = 1_000  // the chain's own benching stays out of it
        XCTAssertEqual(chain.sourceCount, 2)
        let decoder = try SpeculativeDecoder(target: target, drafter: chain, verifier: GreedyVerifier(),
                                             sampling: SamplingParameters(), draftLength: 4)
        // V(n) = 1 + (n − 1)/4: a draft pays from α ≈ 0.25 on.
        decoder.costModel = CostModel(profile: ForwardCostProfile(sizes: [1, 9], seconds: [1, 3]), maxDraft: 4, prior: 0.6)
        XCTAssertEqual(try decoder.generate(prompt: prompt, maxNewTokens: 60), reference)
        XCTAssertEqual(chain.stats[0].accepted, 0)
        XCTAssertLessThan(chain.stats[0].proposals, 12, "the wrong step is planned out after a few misses (and probed)")
        XCTAssertGreaterThan(chain.stats[1].accepted, 30, "the right step drafts on its own record")
        XCTAssertEqual(chain.stats[1].accepted, chain.stats[1].drafted)
        // The decoder's own model learned the first step's misses only.
        XCTAssertLessThan(try XCTUnwrap(decoder.costModel).acceptance[0], 0.4)
    }

    /// A chain round with no draft because the cost model held its draft-model step back (its catch-up
    /// refused) counts as turned off; prompt lookup finding nothing does not.
    func testAChainRoundHeldBackByTheCostModelCountsAsOff() throws {
        let target = try Tiny.model("llama", seed: 3, weightScale: 2)
        let prompt: [Int32] = [5, 9, 14, 3]
        let reference = try Tiny.greedy(target, prompt: prompt, count: 12)
        func run(_ catchUp: Int) throws -> SpeculationStats {
            let chain = try ChainDrafter([ScriptedDrafter(name: "lookup", proposal: []),
                                          ScriptedDrafter(name: "model", proposal: [], catchUp: catchUp)])
            let decoder = try SpeculativeDecoder(target: target, drafter: chain, verifier: GreedyVerifier(),
                                                 sampling: SamplingParameters(), draftLength: 4)
            decoder.costModel = CostModel(profile: ForwardCostProfile(sizes: [1, 32], seconds: [1, 2]), maxDraft: 4, prior: 0.9)
            XCTAssertEqual(try decoder.generate(prompt: prompt, maxNewTokens: 12), reference)
            return decoder.stats
        }
        let refused = try run(100_000)
        XCTAssertEqual(refused.drafted, 0)
        // Every round but the last (a budget of one token leaves no room for a draft).
        XCTAssertEqual(refused.speculationOff, refused.draftSteps - 1)
        let free = try run(0)
        XCTAssertEqual(free.speculationOff, 0, "no step was held back: they had nothing to propose")
    }

    func testTheProfileNeverFallsWithTheBatchSize() {
        let p = ForwardCostProfile(sizes: [1, 2, 3, 4], seconds: [1, 2, 1.5, 3])
        XCTAssertEqual(p.time(tokens: 3), 2)
        XCTAssertEqual(p.time(tokens: 4), 3)
        XCTAssertEqual(p.time(tokens: 2), 2)
    }

    func testFreeDraftsWithHighAcceptanceDraftLong() {
        let profile = ForwardCostProfile(sizes: [1, 9], seconds: [1, 1.8])
        let model = CostModel(profile: profile, maxDraft: 8, prior: 0.6)
        for _ in 0..<40 { model.observe(height: 8, accepted: 8, draftSeconds: 0, draftedTokens: 8) }
        XCTAssertEqual(model.plan().length, 8)
        // E(k) and T(k) as documented.
        XCTAssertEqual(model.expectedSeconds(chain: 8), 1.8, accuracy: 1e-9)
        XCTAssertGreaterThan(model.expectedTokens(chain: 8), 7)
    }

    func testTheBestLengthBalancesAcceptanceAgainstCost() {
        // α = 0.5 everywhere, free drafts, V(n) = 1 + 0.25 (n − 1): E(k)/T(k) is 1, 1.2, 1.17, … (k = 0, 1, 2).
        let profile = ForwardCostProfile(sizes: [1, 9], seconds: [1, 3])
        let model = CostModel(profile: profile, maxDraft: 8, prior: 0.5)
        model.optimism = 0
        let rates = (0...8).map { model.expectedTokens(chain: $0) / model.expectedSeconds(chain: $0) }
        let best = rates.indices.max { rates[$0] < rates[$1] } ?? -1
        XCTAssertEqual(model.plan().length, best)
        XCTAssertEqual(best, 1)
    }

    func testTreeSizeStopsWhereAnotherNodeCostsMoreThanItBrings() {
        let profile = ForwardCostProfile(sizes: [1, 2, 3, 4, 5], seconds: [1, 1.1, 1.2, 2.4, 3.6])
        let model = CostModel(profile: profile, maxDraft: 4)
        // Scores 0.9, 0.8, 0.1, 0.05: the third node is worth 0.1 token for a jump of 1.2 in V.
        XCTAssertEqual(model.treeSize(scores: [0.9, 0.8, 0.1, 0.05], order: [0, 1, 2, 3], draftSeconds: 0), 2)
        XCTAssertEqual(model.treeSize(scores: [0.01], order: [0], draftSeconds: 0), 0)
    }

    func testTheMeasuredProfileLeavesTheModelAsItWas() throws {
        let m = try Tiny.model("llama")
        _ = try m.forward([1, 2, 3], logits: .last)
        let before = m.cache.snapshot()
        let p = try ForwardCostProfile.measure(m, sizes: [1, 2, 4], repetitions: 1)
        XCTAssertEqual(p.sizes, [1, 2, 4])
        XCTAssertTrue(p.seconds.allSatisfy { $0 > 0 })
        XCTAssertEqual(m.position, 3)
        XCTAssertEqual(m.cache.snapshot().keys, before.keys)
    }

    func testConfidencePolicyRule() {
        var c = ConfidencePolicy()
        XCTAssertEqual(c.threshold, 0.35)
        XCTAssertEqual(c.width(1, maxWidth: 4), 1)
        XCTAssertEqual(c.width(0.35, maxWidth: 4), 4)
        XCTAssertEqual(c.width(0.36, maxWidth: 4), 3)   // 1 + ⌊3 · 0.64 / 0.65⌋
        XCTAssertEqual(c.width(0.2, maxWidth: 4), 0)
        XCTAssertTrue(c.extends(0.5))
        XCTAssertFalse(c.extends(0.3))
        c.observe(drafted: 4, accepted: 0)   // a = 0: τ += 0.1 · 0.7
        XCTAssertEqual(c.threshold, 0.42, accuracy: 1e-6)
        c.observe(drafted: 4, accepted: 4)   // a = 1: τ −= 0.1 · 0.3
        XCTAssertEqual(c.threshold, 0.39, accuracy: 1e-6)
        for _ in 0..<100 { c.observe(drafted: 1, accepted: 0) }
        XCTAssertEqual(c.threshold, c.maxThreshold)
        // A one-hot row is fully confident, a flat row not at all.
        let peaked: [Float] = [20, 0, 0, 0], flat: [Float] = [1, 1, 1, 1]
        peaked.withUnsafeBufferPointer { XCTAssertEqual(ConfidencePolicy().confidence($0), 1, accuracy: 1e-4) }
        flat.withUnsafeBufferPointer { XCTAssertEqual(ConfidencePolicy().confidence($0), 0, accuracy: 1e-4) }
    }

    func testConfidencePolicyKeepsDraftModelSpeculationLossless() throws {
        let target = try Tiny.model("gemma3", seed: 8, weightScale: 1.5)
        let prompt: [Int32] = [10, 20, 30, 40, 50, 10, 20, 30]
        try assertSpeculationMatchesPlainGreedy(target, prompt: prompt, newTokens: 30, "confidence policy", draftLengths: [4, 8],
                                                requireDrafts: false) { target in
            let d = try DraftModelDrafter(draft: Tiny.model("gemma3", seed: 8, weightScale: 1.2), target: target)
            d.confidence = ConfidencePolicy()
            return d
        }
    }
}

/// Proposes the reference continuation at the context's position, each token passed through `map`.
final class OracleDrafter: Drafter {
    let reference: [Int32]
    let promptCount: Int
    let map: (Int32) -> Int32
    init(reference: [Int32], promptCount: Int, map: @escaping (Int32) -> Int32) {
        self.reference = reference
        self.promptCount = promptCount
        self.map = map
    }
    var name: String { "oracle" }
    func begin(prompt: [Int32]) throws {}
    func draft(context: [Int32], maxTokens: Int, sampling: SamplingParameters) throws -> Draft {
        let at = context.count - promptCount
        guard at >= 0, at < reference.count else { return .empty }
        return Draft(tokens: reference[at...].prefix(maxTokens).map(map))
    }
    func accepted(context: [Int32], acceptedCount: Int) {}
    func end(context: [Int32]) {}
}
