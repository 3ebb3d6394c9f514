import Foundation
import SpecDecEngine

/// Runs `specdec eval`: every method on the same GSM8K problems, interleaved problem by problem as
/// the benchmark runs (for each problem `ar`, then each method, after one unrecorded warm-up
/// generation per method), each (problem, method) pair from fresh state (a new generator, an empty
/// cache). A problem is one chat turn: ``GSM8K/userMessage(for:)`` through the target's chat
/// template; the answer is the last number of the output (``GSM8K/extractAnswer(from:)``).
///
/// The generation itself is the benchmark's (``BenchRunner``), so speeds are measured exactly as
/// `specdec bench` measures them (wall time of the generate call, prefill included).
public final class EvalRunner {
    /// The benchmark runner whose methods and sessions are used (`ar` first).
    public let bench: BenchRunner

    /// Checks every method against the models (see ``BenchRunner/init(target:draft:methods:options:)``).
    public init(target: LoadedModel, draft: LoadedModel? = nil, methods: [MethodSpec], options: BenchRunOptions) throws {
        bench = try BenchRunner(target: target, draft: draft, methods: methods, options: options)
    }

    /// The methods, `ar` first.
    public var methods: [MethodSpec] { bench.methods }

    /// Runs every pair of `problems` × ``methods`` not in `resumed` (matched on problem and method),
    /// calling `onRecord` with each new record as soon as it is scored and `progress` with a line per
    /// pair. Returns all records, resumed ones included, in run order.
    public func run(problems: [GSM8KProblem], resumed: [EvalRecord] = [], onRecord: (EvalRecord) throws -> Void = { _ in },
                    progress: (String) -> Void = { _ in }) throws -> [EvalRecord] {
        var done: [String: EvalRecord] = [:]
        for r in resumed { done["\(r.problem)\u{1F}\(r.method)"] = r }
        let target = bench.target
        let pending = problems.flatMap { p in methods.filter { done["\(p.index)\u{1F}\($0.label)"] == nil }.map { (p, $0) } }
        let options = bench.options
        if options.warmUpTokens > 0, let first = pending.first?.0 {
            for m in methods where pending.contains(where: { $0.1.label == m.label }) {
                progress("warm-up \(m.label)")
                _ = try bench.measure(prompt(first), m, maxTokens: min(options.warmUpTokens, options.maxTokens),
                                      status: status(m, 0, problems.count, first, 0)) { _ in }
            }
        }
        let endOfTurn = target.tokenizer.endOfTurnTokens
        var records: [EvalRecord] = []
        for (i, p) in problems.enumerated() {
            for m in methods {
                if let r = done["\(p.index)\u{1F}\(m.label)"] {
                    records.append(r)
                    continue
                }
                let run = try bench.measure(prompt(p), m, maxTokens: options.maxTokens,
                                            status: status(m, i + 1, problems.count, p, records.count)) { _ in }
                let text = target.tokenizer.decode(run.tokens.filter { !endOfTurn.contains($0) })
                let extracted = GSM8K.extractAnswer(from: text)
                var record = EvalRecord(problem: p.index, method: m.label, output: text, extracted: extracted,
                                        reference: p.reference, correct: GSM8K.isCorrect(extracted, reference: p.reference),
                                        tokens: run.generatedTokens, seconds: run.seconds)
                if let routing = run.routing {
                    record.llmTokens = routing.llmTokens
                    record.slmTokens = routing.slmTokens
                    record.switches = routing.switchesToLLM + routing.switchesToSLM
                }
                try onRecord(record)
                records.append(record)
                progress(String(format: "problem %d/%d (#%d)  %@  %@  %d tokens, %.1f tok/s", i + 1, problems.count, p.index, m.label,
                                record.correct ? "correct" : "wrong", record.tokens,
                                record.seconds > 0 ? Double(record.tokens) / record.seconds : 0))
            }
        }
        return records
    }

    private func prompt(_ p: GSM8KProblem) -> BenchPrompt {
        BenchPrompt(id: .int(p.index), category: "gsm8k", turns: [GSM8K.userMessage(for: p)])
    }

    private func status(_ m: MethodSpec, _ i: Int, _ n: Int, _ p: GSM8KProblem, _ done: Int) -> BenchProgress {
        BenchProgress(phase: i == 0 ? .warmUp : .running, method: m.label, prompt: i, prompts: n, questionID: .int(p.index),
                      turn: 1, turns: 1, pairsDone: done, pairs: n * methods.count, tokensPerSecond: 0, finished: false)
    }
}
