import Foundation
import SpecDecEngine
#if canImport(Glibc)
import Glibc
#endif

/// The measurement of one (prompt, method) pair: a line of `runs.jsonl`.
///
/// Counts and times are summed over the prompt's turns; `tokens` holds the output token ids of
/// every turn, one after the other (`turn_tokens` says where each turn ends).
public struct RunRecord: Sendable, Equatable, Codable {
    public var questionID: QuestionID
    public var category: String
    /// The method's label (its spec as written).
    public var method: String
    /// Output token ids of all turns (end-of-turn tokens included).
    public var tokens: [Int32]
    /// Tokens generated in each turn.
    public var turnTokens: [Int]
    /// Wall time of the generate calls (prefill and decoding), in seconds.
    public var seconds: Double
    /// The part of ``seconds`` spent on prefill.
    public var prefillSeconds: Double
    /// Draft–verify counts (all zero for `ar`).
    public var speculation: SpeculationStats
    /// Why each turn ended (`eos`, `max_tokens`, …).
    public var stopReasons: [String]
    /// Which model wrote what (`rstitch` methods only).
    public var routing: RStitchStats?

    public init(questionID: QuestionID, category: String, method: String, tokens: [Int32], turnTokens: [Int],
                seconds: Double, prefillSeconds: Double = 0, speculation: SpeculationStats = SpeculationStats(),
                stopReasons: [String] = []) {
        self.questionID = questionID
        self.category = category
        self.method = method
        self.tokens = tokens
        self.turnTokens = turnTokens
        self.seconds = seconds
        self.prefillSeconds = prefillSeconds
        self.speculation = speculation
        self.stopReasons = stopReasons
    }

    /// Tokens generated over all turns.
    public var generatedTokens: Int { tokens.count }

    /// The key `--resume` matches on.
    public var key: RunKey { RunKey(questionID: questionID, method: method) }

    enum CodingKeys: String, CodingKey {
        case questionID = "question_id", category, method, tokens, turnTokens = "turn_tokens"
        case generatedTokens = "generated_tokens", seconds, prefillSeconds = "prefill_seconds"
        case drafted, accepted, draftSteps = "draft_steps", acceptanceByPosition = "acceptance_by_position"
        case draftedByPosition = "drafted_by_position", acceptedByPosition = "accepted_by_position"
        case draftSeconds = "draft_seconds", verifySeconds = "verify_seconds", stopReasons = "stop_reasons"
        case treeSteps = "tree_steps", treeNodes = "tree_nodes", treeAccepted = "tree_accepted", maxTreeNodes = "max_tree_nodes"
        case speculationOff = "speculation_off", probes, verifiedSizes = "verified_sizes", routing
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(questionID, forKey: .questionID)
        try c.encode(category, forKey: .category)
        try c.encode(method, forKey: .method)
        try c.encode(generatedTokens, forKey: .generatedTokens)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(prefillSeconds, forKey: .prefillSeconds)
        try c.encode(speculation.draftSteps, forKey: .draftSteps)
        try c.encode(speculation.drafted, forKey: .drafted)
        try c.encode(speculation.accepted, forKey: .accepted)
        try c.encode(speculation.acceptanceByPosition, forKey: .acceptanceByPosition)
        try c.encode(speculation.draftedByPosition, forKey: .draftedByPosition)
        try c.encode(speculation.acceptedByPosition, forKey: .acceptedByPosition)
        try c.encode(speculation.draftSeconds, forKey: .draftSeconds)
        try c.encode(speculation.verifySeconds, forKey: .verifySeconds)
        try c.encode(speculation.treeSteps, forKey: .treeSteps)
        try c.encode(speculation.treeNodes, forKey: .treeNodes)
        try c.encode(speculation.treeAccepted, forKey: .treeAccepted)
        try c.encode(speculation.maxTreeNodes, forKey: .maxTreeNodes)
        try c.encode(speculation.speculationOff, forKey: .speculationOff)
        try c.encode(speculation.probes, forKey: .probes)
        try c.encode(speculation.verifiedSizes, forKey: .verifiedSizes)
        try c.encode(stopReasons, forKey: .stopReasons)
        try c.encodeIfPresent(routing, forKey: .routing)
        try c.encode(turnTokens, forKey: .turnTokens)
        try c.encode(tokens, forKey: .tokens)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        questionID = try c.decode(QuestionID.self, forKey: .questionID)
        category = try c.decode(String.self, forKey: .category)
        method = try c.decode(String.self, forKey: .method)
        tokens = try c.decode([Int32].self, forKey: .tokens)
        turnTokens = try c.decodeIfPresent([Int].self, forKey: .turnTokens) ?? [tokens.count]
        seconds = try c.decode(Double.self, forKey: .seconds)
        prefillSeconds = try c.decodeIfPresent(Double.self, forKey: .prefillSeconds) ?? 0
        var s = SpeculationStats()
        s.draftSteps = try c.decodeIfPresent(Int.self, forKey: .draftSteps) ?? 0
        s.drafted = try c.decodeIfPresent(Int.self, forKey: .drafted) ?? 0
        s.accepted = try c.decodeIfPresent(Int.self, forKey: .accepted) ?? 0
        s.draftedByPosition = try c.decodeIfPresent([Int].self, forKey: .draftedByPosition) ?? []
        s.acceptedByPosition = try c.decodeIfPresent([Int].self, forKey: .acceptedByPosition) ?? []
        s.draftSeconds = try c.decodeIfPresent(Double.self, forKey: .draftSeconds) ?? 0
        s.verifySeconds = try c.decodeIfPresent(Double.self, forKey: .verifySeconds) ?? 0
        s.treeSteps = try c.decodeIfPresent(Int.self, forKey: .treeSteps) ?? 0
        s.treeNodes = try c.decodeIfPresent(Int.self, forKey: .treeNodes) ?? 0
        s.treeAccepted = try c.decodeIfPresent(Int.self, forKey: .treeAccepted) ?? 0
        s.maxTreeNodes = try c.decodeIfPresent(Int.self, forKey: .maxTreeNodes) ?? 0
        s.speculationOff = try c.decodeIfPresent(Int.self, forKey: .speculationOff) ?? 0
        s.probes = try c.decodeIfPresent(Int.self, forKey: .probes) ?? 0
        s.verifiedSizes = try c.decodeIfPresent([Int].self, forKey: .verifiedSizes) ?? []
        speculation = s
        stopReasons = try c.decodeIfPresent([String].self, forKey: .stopReasons) ?? []
        routing = try c.decodeIfPresent(RStitchStats.self, forKey: .routing)
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
