import Foundation

/// The outcome of one (problem, method) pair of `specdec eval`: a line of its `runs.jsonl`.
///
/// ```json
/// {"problem": 3, "method": "route", "output": "… The answer is 72.", "extracted": "72", "reference": "72",
///  "correct": true, "tokens": 141, "seconds": 2.9, "llm_tokens": 38, "slm_tokens": 103, "switches": 6}
/// ```
public struct EvalRecord: Codable, Sendable, Equatable {
    /// The problem's ``GSM8KProblem/index``.
    public var problem: Int
    /// The method's label.
    public var method: String
    /// The generated text.
    public var output: String
    /// The answer found in ``output`` (``GSM8K/extractAnswer(from:)``), nil when it holds no number.
    public var extracted: String?
    /// The problem's reference answer.
    public var reference: String
    public var correct: Bool
    /// Generated tokens.
    public var tokens: Int
    /// Wall time of the generation (prefill and decoding), in seconds.
    public var seconds: Double
    /// For methods that route tokens between a large and a small model: the tokens each produced,
    /// and how often generation switched between them (nil for other methods).
    public var llmTokens: Int?
    public var slmTokens: Int?
    public var switches: Int?
    /// True for a record whose time must not count toward speed figures because it ran beside other
    /// work on the same cores (its answer still counts); nil or false otherwise.
    public var timingExcluded: Bool?

    /// Whether ``seconds`` counts toward tokens per second and speedups.
    public var isTimed: Bool { timingExcluded != true }

    enum CodingKeys: String, CodingKey {
        case problem = "problem"
        case method = "method"
        case output = "output"
        case extracted = "extracted"
        case reference = "reference"
        case correct = "correct"
        case tokens = "tokens"
        case seconds = "seconds"
        case llmTokens = "llm_tokens"
        case slmTokens = "slm_tokens"
        case switches = "switches"
        case timingExcluded = "timing_excluded"
    }

    public init(problem: Int, method: String, output: String, extracted: String?, reference: String, correct: Bool,
                tokens: Int, seconds: Double, llmTokens: Int? = nil, slmTokens: Int? = nil, switches: Int? = nil) {
        self.problem = problem
        self.method = method
        self.output = output
        self.extracted = extracted
        self.reference = reference
        self.correct = correct
        self.tokens = tokens
        self.seconds = seconds
        self.llmTokens = llmTokens
        self.slmTokens = slmTokens
        self.switches = switches
    }

    /// A record of `output` for `problem`, scored: the answer is extracted from `output` and
    /// compared with the problem's reference.
    public init(problem: GSM8KProblem, method: String, output: String, tokens: Int, seconds: Double,
                llmTokens: Int? = nil, slmTokens: Int? = nil, switches: Int? = nil) {
        let extracted = GSM8K.extractAnswer(from: output)
        self.init(problem: problem.index, method: method, output: output, extracted: extracted, reference: problem.reference,
                  correct: GSM8K.isCorrect(extracted, reference: problem.reference), tokens: tokens, seconds: seconds,
                  llmTokens: llmTokens, slmTokens: slmTokens, switches: switches)
    }

    /// A (problem, method) pair: what `--resume` matches on.
    public struct Key: Hashable, Sendable {
        public var problem: Int
        public var method: String

        public init(problem: Int, method: String) {
            self.problem = problem
            self.method = method
        }
    }

    public var key: Key { Key(problem: problem, method: method) }
}

/// The `runs.jsonl` of `specdec eval`: one ``EvalRecord`` per line (see ``RecordLog``). Errors are
/// ``RunLogError``s.
///
/// ```swift
/// let previous = try EvalRunLog.read(path: "eval-out/runs.jsonl").records   // [] when absent
/// let log = try EvalRunLog(path: "eval-out/runs.jsonl", keeping: previous)
/// try log.append(record)
/// ```
public typealias EvalRunLog = RecordLog<EvalRecord>
