import Foundation
import SpecDecEngine
import SpecDecModel

/// The prompts calibration runs on, and the two calibrations: a model's vocabulary ranking (for
/// trimmed draft heads) and its layer-skip set (for self-speculative drafting).
///
/// Calibration never uses the benchmark's standard prompts: the 60 of `specdec bench --per-family 10`
/// are left out, and the rest are taken evenly across the dataset, so a trimmed head or a skip set
/// is never tuned on the prompts it is measured on.
public enum Calibration {
    /// The prompts a standard benchmark run uses (left out of calibration).
    public static let benchmarkPerFamily = 10

    /// Up to `count` first turns of prompts of `dataset` outside the standard benchmark set, spread
    /// evenly over the rest.
    public static func prompts(_ dataset: BenchDataset, count: Int) throws -> [String] {
        let held = Set(try dataset.select(perFamily: benchmarkPerFamily).map(\.id))
        let rest = dataset.prompts.filter { !held.contains($0.id) && !$0.turns.isEmpty }
        guard count > 0, !rest.isEmpty else { return [] }
        let stride = max(1, rest.count / count)
        return Array(Swift.stride(from: 0, to: rest.count, by: stride).prefix(count).map { rest[$0].turns[0] })
    }

    /// Greedy answers of `model` to `prompts` (chat template, at most `maxTokens` each): the
    /// (prompt tokens, answer tokens) pairs. `progress` gets the index of each finished prompt.
    public static func answers(_ model: LoadedModel, prompts: [String], maxTokens: Int,
                               progress: (Int) -> Void = { _ in }) throws -> [(prompt: [Int32], answer: [Int32])] {
        let generator = Generator(model: model)
        var options = GenerationOptions(maxTokens: maxTokens)
        options.stopAtEndOfTurn = true
        var out: [(prompt: [Int32], answer: [Int32])] = []
        for (i, p) in prompts.enumerated() {
            var tokens = model.promptTokens(p, chat: true)
            if tokens.count + maxTokens >= model.transformer.contextLength {
                tokens = Array(tokens.suffix(max(1, model.transformer.contextLength - maxTokens - 1)))
            }
            generator.reset()
            let r = try generator.generate(prompt: tokens, options: options)
            out.append((tokens, r.tokens))
            progress(i + 1)
        }
        return out
    }

    /// Counts the tokens of `model`'s greedy answers to `prompts` (and, with `countPrompts`, of the
    /// prompts themselves, which widens the coverage of a short calibration): its vocabulary ranking.
    public static func vocabulary(_ model: LoadedModel, prompts: [String], maxTokens: Int, countPrompts: Bool = true,
                                  source: String, progress: (Int) -> Void = { _ in }) throws -> VocabularyRanking {
        var counts: [Int32: Int] = [:]
        for (prompt, answer) in try answers(model, prompts: prompts, maxTokens: maxTokens, progress: progress) {
            for t in answer { counts[t, default: 0] += 1 }
            if countPrompts { for t in prompt { counts[t, default: 0] += 1 } }
        }
        return VocabularyRanking(model: model.name, vocabularySize: model.transformer.config.vocabularySize, counts: counts,
                                 source: source)
    }

    /// V(k): the time of one forward over k + 1 tokens over the time of a single-token forward
    /// (median of `repetitions`), on `model` after a prompt of `contextTokens` tokens.
    public static func verifyCost(_ model: Transformer, draftLength k: Int, contextTokens: Int = 128, repetitions: Int = 7) throws -> Double {
        defer { model.reset() }
        let prompt = (0..<contextTokens).map { Int32($0 % 1000 + 100) }
        model.reset()
        _ = try model.forward(prompt, logits: .last)
        func time(_ n: Int) throws -> Double {
            var samples: [Double] = []
            for _ in 0..<(repetitions + 1) {
                model.truncate(to: contextTokens)
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try model.forward(Array(prompt.prefix(n)), logits: .all)
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0))
            }
            return samples.dropFirst().sorted()[repetitions / 2]
        }
        let one = try time(1)
        return try time(k + 1) / max(1, one)
    }
}
