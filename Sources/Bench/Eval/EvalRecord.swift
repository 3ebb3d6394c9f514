import Foundation
#if canImport(Glibc)
import Glibc
#endif

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

/// The `runs.jsonl` of `specdec eval`: one ``EvalRecord`` per line, appended (and flushed to the
/// file) as each pair finishes, so an interrupted run can be resumed. Errors are ``RunLogError``s.
///
/// ```swift
/// let previous = try EvalRunLog.read(path: "eval-out/runs.jsonl")   // [] when absent
/// let log = try EvalRunLog(path: "eval-out/runs.jsonl", keeping: previous)
/// let done = Set(previous.map(\.key))
/// try log.append(record)
/// ```
public final class EvalRunLog {
    public let path: String
    private let handle: FileHandle

    /// The records of an existing log, and whether an unfinished last line (a run killed while
    /// writing) was dropped.
    public struct Contents: Sendable {
        public var records: [EvalRecord]
        public var droppedPartialLine: Bool
    }

    /// Reads the records at `path` (none when the file does not exist), dropping an unfinished last
    /// line; see ``contents(path:)``.
    public static func read(path: String) throws -> [EvalRecord] { try contents(path: path).records }

    /// Reads the records at `path` (none when the file does not exist). A malformed last line
    /// without a newline is dropped; any other malformed line throws
    /// ``RunLogError/malformedLine(path:line:reason:)``.
    public static func contents(path: String) throws -> Contents {
        guard FileManager.default.fileExists(atPath: path) else { return Contents(records: [], droppedPartialLine: false) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw RunLogError.malformedLine(path: path, line: 0, reason: "unreadable: \(error.localizedDescription)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var records: [EvalRecord] = []
        var dropped = false
        let decoder = JSONDecoder()
        for (i, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                records.append(try decoder.decode(EvalRecord.self, from: Data(line.utf8)))
            } catch {
                let isUnterminatedLast = i == lines.count - 1 && !text.hasSuffix("\n")
                if isUnterminatedLast { dropped = true; continue }
                throw RunLogError.malformedLine(path: path, line: i + 1, reason: "\(error)")
            }
        }
        return Contents(records: records, droppedPartialLine: dropped)
    }

    /// Opens a log at `path` holding `records` first (the records being resumed, or none to start
    /// over). They are written to a temporary file that then replaces `path`, so an existing log is
    /// never left half-written.
    public init(path: String, keeping records: [EvalRecord] = []) throws {
        self.path = path
        var data = Data()
        let encoder = Self.encoder()
        do {
            for r in records {
                data.append(try encoder.encode(r))
                data.append(UInt8(ascii: "\n"))
            }
            let tmp = path + ".tmp"
            try data.write(to: URL(fileURLWithPath: tmp))
            guard rename(tmp, path) == 0 else {
                throw RunLogError.unwritable(path: path, reason: "cannot move \(tmp) into place (errno \(errno))")
            }
        } catch let e as RunLogError {
            throw e
        } catch {
            throw RunLogError.unwritable(path: path, reason: "\(error)")
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw RunLogError.unwritable(path: path, reason: "cannot open the file for writing")
        }
        self.handle = handle
        do { _ = try handle.seekToEnd() } catch { throw RunLogError.unwritable(path: path, reason: "\(error)") }
    }

    deinit { try? handle.close() }

    private static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Appends one record as a line and flushes it.
    public func append(_ record: EvalRecord) throws {
        do {
            var line = try Self.encoder().encode(record)
            line.append(UInt8(ascii: "\n"))
            try handle.write(contentsOf: line)
            try handle.synchronize()
        } catch {
            throw RunLogError.unwritable(path: path, reason: "\(error)")
        }
    }
}
