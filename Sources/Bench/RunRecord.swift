import Foundation
import SpecDecEngine
#if canImport(Glibc)
import Glibc
#endif

/// The measurement of one (prompt, method) pair: a line of `runs.jsonl`.
///
/// Counts and times are summed over the prompt's turns; `tokens` holds the output token ids of
/// every turn, one after the other (`turn_tokens` says where each turn ends).
///
/// A line is one flat JSON object: the ``Fields`` (synthesized coding), `generated_tokens`, and the
/// speculation counts and rates (``SpeculationStats``'s own coding). The fields read as properties
/// of the record (`record.seconds`).
@dynamicMemberLookup
public struct RunRecord: Sendable, Equatable, Codable {
    /// Everything a line holds besides the speculation counts.
    public struct Fields: Sendable, Equatable, Codable {
        public var questionID: QuestionID
        public var category: String
        /// The method's label (its spec as written).
        public var method: String
        /// Output token ids of all turns (end-of-turn tokens included).
        public var tokens: [Int32]
        /// Tokens generated in each turn (older lines without it read as one turn).
        @Defaulted public var turnTokens: [Int] = []
        /// Wall time of the generate calls (prefill and decoding), in seconds.
        public var seconds: Double
        /// The part of ``seconds`` spent on prefill.
        @Defaulted public var prefillSeconds = 0.0
        /// Why each turn ended (`eos`, `max_tokens`, …).
        @Defaulted public var stopReasons: [String] = []
        /// Which model wrote what (`rstitch` methods only).
        public var routing: RStitchStats?

        enum CodingKeys: String, CodingKey {
            case questionID = "question_id", category, method, tokens, turnTokens = "turn_tokens", seconds
            case prefillSeconds = "prefill_seconds", stopReasons = "stop_reasons", routing
        }
    }

    public var fields: Fields
    /// Draft–verify counts (all zero for `ar`).
    public var speculation: SpeculationStats

    public init(questionID: QuestionID, category: String, method: String, tokens: [Int32], turnTokens: [Int],
                seconds: Double, prefillSeconds: Double = 0, speculation: SpeculationStats = SpeculationStats(),
                stopReasons: [String] = []) {
        fields = Fields(questionID: questionID, category: category, method: method, tokens: tokens,
                        turnTokens: turnTokens, seconds: seconds, prefillSeconds: prefillSeconds,
                        stopReasons: stopReasons, routing: nil)
        self.speculation = speculation
    }

    /// `record.seconds`, `record.questionID`, … read and write ``fields``.
    public subscript<T>(dynamicMember keyPath: WritableKeyPath<Fields, T>) -> T {
        get { fields[keyPath: keyPath] }
        set { fields[keyPath: keyPath] = newValue }
    }

    /// Tokens generated over all turns.
    public var generatedTokens: Int { fields.tokens.count }

    /// The key `--resume` matches on.
    public var key: RunKey { RunKey(questionID: fields.questionID, method: fields.method) }

    /// One flat object: the fields, `generated_tokens`, then the speculation counts and rates.
    public func encode(to encoder: Encoder) throws {
        try FlatJSON(fields, ["generated_tokens": generatedTokens], speculation.report).encode(to: encoder)
    }

    /// Reads the fields and the speculation counts from the same object (absent counts are zero).
    public init(from decoder: Decoder) throws {
        fields = try Fields(from: decoder)
        if fields.turnTokens.isEmpty { fields.turnTokens = [fields.tokens.count] }
        speculation = try SpeculationStats(from: decoder)
    }
}

/// A (prompt, method) pair.
public struct RunKey: Hashable, Sendable {
    public var questionID: QuestionID
    public var method: String

    public init(questionID: QuestionID, method: String) {
        self.questionID = questionID
        self.method = method
    }
}

/// A malformed `runs.jsonl`.
public enum RunLogError: Error, CustomStringConvertible, Equatable {
    case malformedLine(path: String, line: Int, reason: String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .malformedLine(let path, let line, let reason):
            return "\(path) line \(line) is not a run record (\(reason)); remove the line or run without --resume"
        case .unwritable(let path, let reason): return "cannot write \(path): \(reason)"
        }
    }
}

/// The benchmark's `runs.jsonl`: one ``RunRecord`` per line (see ``RecordLog``).
public typealias RunLog = RecordLog<RunRecord>

/// A `runs.jsonl`: one record per line, appended (and flushed to the file) as each pair finishes, so
/// an interrupted run can be resumed (``RunLog`` for `specdec bench`, ``EvalRunLog`` for `specdec eval`).
///
/// ```swift
/// let previous = try RunLog.read(path: "bench-out/runs.jsonl")   // [] when absent
/// let log = try RunLog(path: "bench-out/runs.jsonl", keeping: previous.records)
/// try log.append(record)
/// ```
public final class RecordLog<Record: Codable & Sendable> {
    public let path: String
    private let handle: FileHandle

    /// The records of an existing log, and whether an unfinished last line (a run killed while
    /// writing) was dropped.
    public struct Contents: Sendable {
        public var records: [Record]
        public var droppedPartialLine: Bool
    }

    /// Reads the records at `path` (none when the file does not exist). A malformed last line
    /// without a newline is dropped; any other malformed line throws
    /// ``RunLogError/malformedLine(path:line:reason:)``.
    public static func read(path: String) throws -> Contents {
        guard FileManager.default.fileExists(atPath: path) else { return Contents(records: [], droppedPartialLine: false) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw RunLogError.malformedLine(path: path, line: 0, reason: "unreadable: \(error.localizedDescription)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var records: [Record] = []
        var dropped = false
        let decoder = JSONDecoder()
        for (i, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                records.append(try decoder.decode(Record.self, from: Data(line.utf8)))
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
    public init(path: String, keeping records: [Record] = []) throws {
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
    public func append(_ record: Record) throws {
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
