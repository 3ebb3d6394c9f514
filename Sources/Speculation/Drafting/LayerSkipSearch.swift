import Foundation
import SpecDecKernels
import SpecDecModel

/// Finds which sublayers a model can skip when it drafts for itself (``SelfSpeculativeDrafter``),
/// by measuring, against the full model, how often the skipped model predicts the same next token.
///
/// The objective is the expected speedup of one draft–verify round with draft length k, per-token
/// acceptance α and relative draft cost c (Leviathan et al. 2023, with Draft & Verify's and SWIFT's
/// layer-skipping drafts): `S = (1 − α^(k+1)) / ((1 − α)(k·c + V))`, V the verification cost in
/// single-token forwards. α is the agreement of the skipped model's argmax with the full model's at
/// each position of the calibration samples (teacher-forced: the context is the model's own committed
/// text, keys and values of the sample's prompt from the full model); c is the share of weight bytes
/// the skipped model still reads (``Transformer/relativeCost(skip:head:)``).
///
/// The search (after SWIFT, Xia et al. 2024, arXiv:2410.06916, which optimizes the skipped set
/// against the model's own outputs within a fixed budget of steps): every sublayer is first scored
/// alone and ordered by least harm; prefixes of that order are evaluated in steps and the best
/// kept; then single sublayers are added (in order) and removed where that raises S. The budget
/// bounds the number of evaluations (each one a batched forward over the samples); with a budget
/// below the single-sublayer pass, the order is from the last layer down, unscored.
public enum LayerSkipSearch {
    /// Knobs of the search.
    public struct Options: Sendable, Equatable {
        /// The draft length k the objective assumes.
        public var draftLength = 4
        /// Verification cost V(k) in single-token forwards (measure it with `specdec speed`).
        public var verifyCost = 1.3
        /// Most evaluations (batched forwards over the samples); 0 means 4 × the layer count.
        public var maxEvaluations = 0
        /// Never skip more than this share of the sublayers.
        public var maxSkippedShare = 0.75

        public init(draftLength: Int = 4, verifyCost: Double = 1.3, maxEvaluations: Int = 0) {
            self.draftLength = draftLength
            self.verifyCost = verifyCost
            self.maxEvaluations = maxEvaluations
        }
    }

    /// A calibration sample: a prompt and what follows it (the positions that are scored).
    public struct Sample: Sendable, Equatable {
        public var prompt: [Int32]
        public var continuation: [Int32]
        public init(prompt: [Int32], continuation: [Int32]) {
            self.prompt = prompt
            self.continuation = continuation
        }
    }

    /// What the search found.
    public struct Result: Sendable, Equatable, Codable {
        /// The chosen set.
        public var skip: LayerSkip
        /// Agreement of its argmax with the full model's over the samples' scored positions.
        public var agreement: Double
        /// Share of the full model's weight bytes a drafted token reads.
        public var relativeCost: Double
        /// The objective S at the chosen set.
        public var estimatedSpeedup: Double
        /// Evaluations spent and positions scored per evaluation.
        public var evaluations: Int
        public var positions: Int
        /// Agreement with each sublayer skipped alone (`attn3`, `ffn7`, …), when the search scored them.
        public var singles: [String: Double]?

        public init(skip: LayerSkip, agreement: Double, relativeCost: Double, estimatedSpeedup: Double, evaluations: Int, positions: Int,
                    singles: [String: Double]? = nil) {
            self.singles = singles
            self.skip = skip
            self.agreement = agreement
            self.relativeCost = relativeCost
            self.estimatedSpeedup = estimatedSpeedup
            self.evaluations = evaluations
            self.positions = positions
        }

        enum CodingKeys: String, CodingKey {
            case skip, agreement, relativeCost = "relative_cost", estimatedSpeedup = "estimated_speedup", evaluations, positions, singles
        }
    }

    /// The objective: expected tokens per round over the round's cost in single-token forwards.
    public static func speedup(acceptance a: Double, relativeCost c: Double, draftLength k: Int, verifyCost v: Double) -> Double {
        let tokens = a >= 1 ? Double(k + 1) : (1 - pow(a, Double(k + 1))) / (1 - a)
        return tokens / (Double(k) * c + v)
    }

    /// Runs the search on `model` (its cache is used and left empty). Throws
    /// ``SpeculationError/invalidParameter(_:)`` when no sample has a position to score or a sample
    /// does not fit the context.
    /// With `head`, the drafts' logits come from that trimmed output layer (its cost and its misses count).
    public static func search(model: Transformer, samples: [Sample], head: TrimmedHead? = nil,
                              options: Options = Options()) throws -> Result {
        let usable = samples.filter { !$0.prompt.isEmpty && !$0.continuation.isEmpty }
        guard !usable.isEmpty else { throw SpeculationError.invalidParameter("layer-skip search: no sample with a prompt and a continuation") }
        for s in usable where s.prompt.count + s.continuation.count > model.contextLength {
            throw SpeculationError.invalidParameter(
                "layer-skip search: a sample of \(s.prompt.count + s.continuation.count) tokens does not fit the context of \(model.contextLength)")
        }
        defer { model.reset() }
        let layers = model.config.layerCount
        // Per sample: the full model's cache after prompt[..<n-1], the evaluated batch and the full
        // model's argmax at each of its rows (the reference).
        struct Prepared { var keys: [Float]; var values: [Float]; var count: Int; var batch: [Int32]; var reference: [Int32] }
        var prepared: [Prepared] = []
        for s in usable {
            model.reset()
            if s.prompt.count > 1 { _ = try model.forward(Array(s.prompt.dropLast()), logits: .last) }
            let saved = model.cache.snapshot()
            let count = model.position
            let batch = [s.prompt[s.prompt.count - 1]] + s.continuation.dropLast()
            let logits = try model.forward(batch, logits: .all)
            let reference = (0..<logits.rows).map { Sampler.argmax(logits[$0]) }
            prepared.append(Prepared(keys: saved.keys, values: saved.values, count: count, batch: batch, reference: reference))
        }
        let positions = prepared.reduce(0) { $0 + $1.batch.count }
        var evaluations = 0
        func agreement(_ skip: LayerSkip) throws -> Double {
            evaluations += 1
            var same = 0
            for p in prepared {
                try model.cache.restore(keys: p.keys, values: p.values, count: p.count)
                let logits = try model.forward(p.batch, logits: .all, skip: skip, head: head)
                for r in 0..<logits.rows {
                    let i = Sampler.argmax(logits[r])
                    if (head.map { $0.tokens[Int(i)] } ?? i) == p.reference[r] { same += 1 }
                }
            }
            return Double(same) / Double(positions)
        }
        func objective(_ a: Double, _ skip: LayerSkip) -> Double {
            speedup(acceptance: a, relativeCost: model.relativeCost(skip: skip, head: head), draftLength: options.draftLength,
                    verifyCost: options.verifyCost)
        }

        let budget = options.maxEvaluations > 0 ? options.maxEvaluations : 4 * layers
        let all = LayerSkip.allSublayers(layerCount: layers)
        let maxSkipped = max(1, Int(Double(all.count) * options.maxSkippedShare))
        var order: [LayerSkip.Sublayer]
        var singles: [String: Double]?
        if budget >= all.count + all.count / 2 {  // room to score every sublayer first
            // Score each sublayer alone; least harmful (then largest) first.
            var scored: [(LayerSkip.Sublayer, Double, Int)] = []
            for s in all {
                let a = try agreement(LayerSkip.none(layerCount: layers).adding(s))
                let b = model.sublayerBytes(layer: s.layer)
                scored.append((s, a, s.isAttention ? b.attention : b.feedForward))
            }
            order = scored.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.2 > $1.2 }.map(\.0)
            singles = Dictionary(uniqueKeysWithValues: scored.map { ($0.0.description, $0.1) })
        } else {
            // No room to score: the later layers first (they change the residual stream least).
            order = (0..<layers).reversed().flatMap {
                [LayerSkip.Sublayer(layer: $0, isAttention: true), LayerSkip.Sublayer(layer: $0, isAttention: false)]
            }
        }
        func prefix(_ m: Int) -> LayerSkip {
            order.prefix(m).reduce(LayerSkip.none(layerCount: layers)) { $0.adding($1) }
        }
        // 1. Prefixes of the order, in steps: one sublayer alone rarely pays (the acceptance drops
        //    before the cost does), a block of them does.
        var current = LayerSkip.none(layerCount: layers)
        var currentAgreement = 1.0
        var best = objective(1, current)
        var bestSize = 0
        let step = max(1, maxSkipped / 12)
        var m = step
        while m <= maxSkipped && evaluations < budget {
            let candidate = prefix(m)
            let a = try agreement(candidate)
            let value = objective(a, candidate)
            if value > best { (best, current, currentAgreement, bestSize) = (value, candidate, a, m) }
            m += step
        }
        // 2. Refine one sublayer at a time: from the best prefix, try adding each later sublayer of
        //    the order (kept when it raises S), then removing each chosen one.
        for s in order.dropFirst(bestSize) where evaluations < budget && current.count < maxSkipped {
            let candidate = current.adding(s)
            let a = try agreement(candidate)
            let value = objective(a, candidate)
            if value > best { (best, current, currentAgreement) = (value, candidate, a) }
        }
        for s in current.sublayers where evaluations < budget {
            let candidate = current.removing(s)
            let a = try agreement(candidate)
            let value = objective(a, candidate)
            if value > best { (best, current, currentAgreement) = (value, candidate, a) }
        }
        return Result(skip: current, agreement: currentAgreement, relativeCost: model.relativeCost(skip: current, head: head),
                      estimatedSpeedup: best, evaluations: evaluations, positions: positions, singles: singles)
    }
}
