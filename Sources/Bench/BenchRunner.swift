import Foundation
import SpecDecEngine
import SpecDecTokenizer

/// Why a benchmark could not run.
public enum BenchError: Error, CustomStringConvertible, Equatable {
    case missingDraftModel(method: String)
    case draftIsTarget
    case invalidMethod(method: String, reason: String)
    case invalidOption(String)
    case promptTooLong(questionID: String, turn: Int, tokens: Int, context: Int)
    case generationFailed(method: String, questionID: String, turn: Int, reason: String)
    case resumeMismatch(path: String, differences: String)

    public var description: String {
        switch self {
        case .missingDraftModel(let m): return "method '\(m)' drafts with a model: give --draft-model"
        case .draftIsTarget: return "the draft model must be loaded separately from the target (it has its own KV cache)"
        case .invalidMethod(let m, let reason): return "method '\(m)': \(reason)"
        case .invalidOption(let s): return s
        case .promptTooLong(let id, let turn, let tokens, let context):
            return "question \(id), turn \(turn): the prompt has \(tokens) tokens, which leaves no room in the context of "
                + "\(context) tokens (use --context to raise it, or --categories to leave the long tasks out)"
        case .generationFailed(let m, let id, let turn, let reason):
            return "method '\(m)' failed on question \(id), turn \(turn): \(reason)"
        case .resumeMismatch(let path, let differences):
            return "cannot resume from \(path): \(differences) (match the options, or run without --resume to start over)"
        }
    }
}

/// Options of a benchmark run.
public struct BenchRunOptions: Sendable {
    /// Token budget of every turn (the same for every method).
    public var maxTokens = 128
    /// Greedy by default; the same seed for every method and prompt.
    public var sampling = SamplingParameters()
    /// Tokens of the unrecorded warm-up generation each method runs before timing (0: none).
    public var warmUpTokens = 16

    public init(maxTokens: Int = 128, sampling: SamplingParameters = SamplingParameters(), warmUpTokens: Int = 16) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.warmUpTokens = warmUpTokens
    }
}

/// A progress report, sent as turns finish and (at most twice a second) while one is generated.
public struct BenchProgress: Sendable {
    public enum Phase: Sendable { case warmUp, running, resumed }
    public var phase: Phase
    public var method: String
    /// 1-based index of the prompt and the number of prompts.
    public var prompt: Int
    public var prompts: Int
    public var questionID: QuestionID
    /// 1-based turn of the prompt being generated, and the prompt's turns.
    public var turn: Int
    public var turns: Int
    /// (prompt, method) pairs finished, this one included once ``finished`` is true on its last
    /// turn, out of all pairs.
    public var pairsDone: Int
    public var pairs: Int
    /// Tokens per second of the turn (approximate while it runs: text pieces per second).
    public var tokensPerSecond: Double
    /// True when the turn has finished (or the pair was resumed); false for a live update.
    public var finished: Bool
}

/// Runs the benchmark Spec-Bench's way: every method on the same prompts in one process,
/// interleaved prompt by prompt (for each prompt `ar`, then each method) so that drift in the
/// machine's speed hits all alike, after one unrecorded warm-up generation per method.
///
/// Each (prompt, method) pair starts from fresh state: a new ``Generator`` or
/// ``SpeculativeGenerator`` (so a new drafter; the suffix tree's global tree only holds the earlier
/// turns of the same prompt), and every turn starts from an empty target cache, so the prompt is
/// prefilled in full as Spec-Bench's per-turn `generate` calls do. A pair's numbers therefore do not
/// depend on what ran before it, which is what makes `--resume` exact. The time recorded is the
/// wall time of the generate calls: prefill and decoding, not loading or tokenizing.
///
/// Multi-turn prompts run turn by turn through the target's chat template, the conversation
/// accumulating (user 1, the method's own answer 1, user 2).
///
/// ```swift
/// let runner = try BenchRunner(target: target, draft: draft, methods: MethodSpec.parseList("lookup,model:k=4"))
/// let records = try runner.run(prompts: prompts, resumed: previous) { try log.append($0) }
/// ```
public final class BenchRunner {
    public let target: LoadedModel
    public let draft: LoadedModel?
    /// The methods, `ar` first.
    public let methods: [MethodSpec]
    public let options: BenchRunOptions

    /// Checks every method against the models and sampling (a `model` method needs `draft`, a
    /// greedy verifier needs temperature 0, the draft's vocabulary must match the target's).
    public init(target: LoadedModel, draft: LoadedModel? = nil, methods: [MethodSpec],
                options: BenchRunOptions = BenchRunOptions()) throws {
        guard options.maxTokens >= 1 else { throw BenchError.invalidOption("max tokens must be >= 1, got \(options.maxTokens)") }
        guard options.warmUpTokens >= 0 else { throw BenchError.invalidOption("warm-up tokens must be >= 0") }
        do { try options.sampling.validate() } catch { throw BenchError.invalidOption("\(error)") }
        if let draft, draft === target { throw BenchError.draftIsTarget }
        var list = methods.filter { !$0.isBaseline }
        list.insert(.baseline, at: 0)
        self.target = target
        self.draft = draft
        self.methods = list
        self.options = options
        for m in list where !m.isBaseline {
            if m.needsDraftModel && draft == nil { throw BenchError.missingDraftModel(method: m.label) }
            do {
                _ = try m.options.makeVerifier(sampling: options.sampling)
                _ = try makeSession(m)
            } catch {
                throw BenchError.invalidMethod(method: m.label, reason: "\(error)")
            }
        }
    }

    /// Runs every pair of `prompts` × ``methods`` not found in `resumed`, calling `onRecord` with each
    /// new record as soon as it is measured. Returns the records of all pairs, resumed ones
    /// included, in run order.
    public func run(prompts: [BenchPrompt], resumed: [RunRecord] = [],
                    onRecord: (RunRecord) throws -> Void = { _ in },
                    progress: (BenchProgress) -> Void = { _ in }) throws -> [RunRecord] {
        var done: [RunKey: RunRecord] = [:]
        for r in resumed { done[r.key] = r }
        let pending = prompts.flatMap { p in methods.filter { done[RunKey(questionID: p.id, method: $0.label)] == nil }.map { (p, $0) } }
        let pairs = prompts.count * methods.count
        if options.warmUpTokens > 0, let first = pending.first?.0, let firstTurn = first.turns.first {
            let warm = BenchPrompt(id: first.id, category: first.category, turns: [firstTurn])
            for m in methods where pending.contains(where: { $0.1.label == m.label }) {
                let status = BenchProgress(phase: .warmUp, method: m.label, prompt: 0, prompts: prompts.count, questionID: first.id,
                                           turn: 1, turns: 1, pairsDone: 0, pairs: pairs, tokensPerSecond: 0, finished: false)
                progress(status)
                _ = try measure(warm, m, maxTokens: min(options.warmUpTokens, options.maxTokens), status: status) { _ in }
            }
        }
        var records: [RunRecord] = []
        for (i, p) in prompts.enumerated() {
            for m in methods {
                var status = BenchProgress(phase: .running, method: m.label, prompt: i + 1, prompts: prompts.count, questionID: p.id,
                                           turn: 1, turns: p.turns.count, pairsDone: records.count, pairs: pairs,
                                           tokensPerSecond: 0, finished: false)
                if let r = done[RunKey(questionID: p.id, method: m.label)] {
                    records.append(r)
                    status.phase = .resumed
                    status.turn = p.turns.count
                    status.pairsDone = records.count
                    status.tokensPerSecond = r.seconds > 0 ? Double(r.generatedTokens) / r.seconds : 0
                    status.finished = true
                    progress(status)
                    continue
                }
                let r = try measure(p, m, maxTokens: options.maxTokens, status: status, progress: progress)
                try onRecord(r)
                records.append(r)
            }
        }
        return records
    }

    /// Runs one prompt (all its turns) with one method; `status` is the progress to report, filled
    /// in as turns go.
    func measure(_ prompt: BenchPrompt, _ method: MethodSpec, maxTokens: Int, status: BenchProgress,
                 progress: (BenchProgress) -> Void) throws -> RunRecord {
        let session: Session
        do { session = try makeSession(method) } catch {
            throw BenchError.invalidMethod(method: method.label, reason: "\(error)")
        }
        var generation = GenerationOptions(maxTokens: maxTokens, sampling: options.sampling)
        generation.stopAtEndOfTurn = true
        let context = target.transformer.contextLength
        var messages: [ChatMessage] = []
        var record = RunRecord(questionID: prompt.id, category: prompt.category, method: method.label, tokens: [],
                               turnTokens: [], seconds: 0)
        var status = status
        for (t, turn) in prompt.turns.enumerated() {
            messages.append(.user(turn))
            let tokens = target.tokenizer.encode(target.chatTemplate.render(messages, addGenerationPrompt: true))
            guard tokens.count < context else {
                throw BenchError.promptTooLong(questionID: prompt.id.description, turn: t + 1, tokens: tokens.count, context: context)
            }
            session.reset()
            status.turn = t + 1
            status.finished = false
            var pieces = 0
            var lastReport = DispatchTime.now()
            let start = lastReport
            let result: GenerationResult
            do {
                result = try session.generate(tokens, generation) { _ in
                    // Live tokens/s, approximated by text pieces, at most twice a second.
                    pieces += 1
                    let now = DispatchTime.now()
                    if now.uptimeNanoseconds - lastReport.uptimeNanoseconds > 500_000_000 {
                        lastReport = now
                        var live = status
                        live.tokensPerSecond = Double(pieces) / (Double(now.uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
                        progress(live)
                    }
                    return true
                }
            } catch {
                throw BenchError.generationFailed(method: method.label, questionID: prompt.id.description, turn: t + 1,
                                                  reason: "\(error)")
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            record.tokens += result.tokens
            record.turnTokens.append(result.tokens.count)
            record.seconds += seconds
            record.prefillSeconds += result.stats.prefillSeconds
            record.stopReasons.append(result.stopReason.rawValue)
            if let s = result.speculation { record.speculation.merge(s) }
            if let r = result.routing {
                var routing = record.routing ?? RStitchStats()
                routing.merge(r)
                record.routing = routing
            }
            messages.append(.assistant(result.text))
            status.tokensPerSecond = seconds > 0 ? Double(result.tokens.count) / seconds : 0
            status.finished = true
            if t == prompt.turns.count - 1 && status.phase == .running { status.pairsDone += 1 }
            progress(status)
        }
        return record
    }

    /// A fresh generator for `method`.
    private func makeSession(_ method: MethodSpec) throws -> Session {
        if method.isBaseline { return .plain(Generator(model: target)) }
        if method.draftAlone || method.router != nil {
            guard let draft else { throw BenchError.missingDraftModel(method: method.label) }
            if let difference = Tokenizer.differences(target.tokenizer, draft.tokenizer) {
                throw EngineError.incompatibleDraft(target: target.name, draft: draft.name, difference: difference)
            }
            if let router = method.router { return .rstitch(try RStitchGenerator(llm: target, slm: draft, policy: router)) }
            return .plain(Generator(model: draft))
        }
        return .speculative(try SpeculativeGenerator(target: target, draftModel: method.options.usesDraftModel ? draft : nil,
                                                     options: method.options, seed: options.sampling.seed))
    }

    /// Plain or speculative generation behind one interface.
    private enum Session {
        case plain(Generator)
        case speculative(SpeculativeGenerator)
        case rstitch(RStitchGenerator)

        /// Empties the target's cache (the drafter keeps what it learned from earlier turns).
        func reset() {
            switch self {
            case .plain(let g): g.reset()
            case .speculative(let g): g.reset()
            case .rstitch(let g): g.reset()
            }
        }

        func generate(_ prompt: [Int32], _ options: GenerationOptions, _ onText: (String) -> Bool) throws -> GenerationResult {
            switch self {
            case .plain(let g): return try g.generate(prompt: prompt, options: options, onText: onText)
            case .speculative(let g): return try g.generate(prompt: prompt, options: options, onText: onText)
            case .rstitch(let g): return try g.generate(prompt: prompt, options: options, onText: onText)
            }
        }
    }
}
