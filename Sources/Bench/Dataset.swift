import Foundation

/// A prompt's id as the dataset writes it: Spec-Bench uses integers, other files may use strings.
public enum QuestionID: Hashable, Sendable, Codable, CustomStringConvertible {
    case int(Int)
    case string(String)

    public var description: String {
        switch self {
        case .int(let n): return String(n)
        case .string(let s): return s
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) {
            self = .int(n)
        } else {
            self = .string(try c.decode(String.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        }
    }
}

/// One benchmark prompt: a row of Spec-Bench's `question.jsonl`. MT-bench rows have two turns,
/// run one after the other with the first answer in the second turn's conversation.
public struct BenchPrompt: Sendable, Equatable {
    public var id: QuestionID
    public var category: String
    /// User messages, in order (at least one).
    public var turns: [String]

    public init(id: QuestionID, category: String, turns: [String]) {
        self.id = id
        self.category = category
        self.turns = turns
    }
}

/// Why a dataset could not be read. Errors about a row name its 1-based line number.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case badJSON(line: Int, reason: String)
    case missingField(line: Int, field: String)
    case wrongType(line: Int, field: String, expected: String)
    case emptyTurns(line: Int)
    case emptyTurn(line: Int, turn: Int)
    case emptyCategory(line: Int)
    case duplicateID(line: Int, id: String, firstLine: Int)
    case noPrompts(path: String)
    case unknownCategory(String, available: [String])
    case noDefaultDataset(searched: [String])

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read the dataset \(path): \(reason)"
        case .badJSON(let line, let reason): return "dataset line \(line): not a JSON object (\(reason))"
        case .missingField(let line, let field): return "dataset line \(line): missing field \"\(field)\""
        case .wrongType(let line, let field, let expected): return "dataset line \(line): \"\(field)\" must be \(expected)"
        case .emptyTurns(let line): return "dataset line \(line): \"turns\" is empty (a prompt needs at least one turn)"
        case .emptyTurn(let line, let turn): return "dataset line \(line): turn \(turn) is empty"
        case .emptyCategory(let line): return "dataset line \(line): \"category\" is empty"
        case .duplicateID(let line, let id, let first):
            return "dataset line \(line): question_id \(id) already appears on line \(first)"
        case .noPrompts(let path): return "the dataset \(path) holds no prompts"
        case .unknownCategory(let c, let available):
            return "unknown category or task '\(c)' (available: \(available.joined(separator: ", ")))"
        case .noDefaultDataset(let searched):
            return "the default dataset was not found (looked at \(searched.joined(separator: ", "))); give --dataset PATH"
        }
    }
}

/// The six task families Spec-Bench reports (Xia et al. 2024, arXiv:2401.07851), each with the
/// `category` values of `question.jsonl` that belong to it.
public enum SpecBenchFamily: String, CaseIterable, Sendable, Codable {
    case multiTurnConversation = "multi_turn_conversation"
    case translation
    case summarization
    case qa
    case mathReasoning = "math_reasoning"
    case rag

    /// The dataset categories of this family (MT-bench's eight categories form the first).
    public var categories: [String] {
        switch self {
        case .multiTurnConversation:
            return ["writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"]
        case .translation: return ["translation"]
        case .summarization: return ["summarization"]
        case .qa: return ["qa"]
        case .mathReasoning: return ["math_reasoning"]
        case .rag: return ["rag"]
        }
    }

    /// The column title used in tables and plots.
    public var title: String {
        switch self {
        case .multiTurnConversation: return "Multi-turn conversation"
        case .translation: return "Translation"
        case .summarization: return "Summarization"
        case .qa: return "QA"
        case .mathReasoning: return "Math reasoning"
        case .rag: return "RAG"
        }
    }

    /// The family of a dataset category (nil for categories Spec-Bench does not have).
    public static func of(category: String) -> SpecBenchFamily? {
        allCases.first { $0.categories.contains(category) }
    }

    /// The report group of `category`: its family's raw value, or the category itself when it is
    /// not a Spec-Bench category (custom datasets are reported per category).
    public static func groupKey(forCategory category: String) -> String {
        of(category: category)?.rawValue ?? category
    }

    /// The display title of a report group key.
    public static func title(ofGroup key: String) -> String {
        SpecBenchFamily(rawValue: key)?.title ?? key
    }
}

/// A parsed `question.jsonl`: one JSON object per line with `question_id` (integer or string),
/// `category` (string) and `turns` (non-empty array of non-empty strings); other fields are
/// ignored, blank lines skipped.
///
/// ```swift
/// let dataset = try BenchDataset(path: "Data/specbench/question.jsonl")
/// let prompts = try dataset.select(categories: ["qa", "multi_turn_conversation"], limit: 10)
/// ```
public struct BenchDataset: Sendable {
    /// The prompts in file order.
    public var prompts: [BenchPrompt]

    /// Where the bundled Spec-Bench questions live, relative to the repository root.
    public static let defaultRelativePath = "Data/specbench/question.jsonl"

    public init(prompts: [BenchPrompt]) { self.prompts = prompts }

    /// Reads and parses the file at `path`.
    public init(path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DatasetError.unreadable(path: path, reason: error.localizedDescription)
        }
        try self.init(jsonl: String(decoding: data, as: UTF8.self))
        if prompts.isEmpty { throw DatasetError.noPrompts(path: path) }
    }

    /// Parses JSON-lines text; throws a ``DatasetError`` naming the first bad line.
    public init(jsonl text: String) throws {
        var prompts: [BenchPrompt] = []
        var firstLine: [QuestionID: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            let body = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if body.isEmpty { continue }
            let prompt = try Self.parse(row: body, line: line)
            if let first = firstLine[prompt.id] {
                throw DatasetError.duplicateID(line: line, id: prompt.id.description, firstLine: first)
            }
            firstLine[prompt.id] = line
            prompts.append(prompt)
        }
        self.prompts = prompts
    }

    /// The categories present, in order of first appearance.
    public var categories: [String] {
        var seen = Set<String>()
        return prompts.map(\.category).filter { seen.insert($0).inserted }
    }

    /// The prompts to run: those in `categories` (each a dataset category or a family's raw value
    /// such as `multi_turn_conversation`; nil for all), at most `perCategory` of each category, at
    /// most `perFamily` of each report group (a Spec-Bench task family, taken round-robin over its
    /// categories so that MT-bench's eight are all represented), then the first `limit` of them, in
    /// file order.
    public func select(categories: [String]? = nil, limit: Int? = nil, perCategory: Int? = nil,
                       perFamily: Int? = nil) throws -> [BenchPrompt] {
        var chosen = prompts
        if let categories {
            let present = Set(self.categories)
            var wanted = Set<String>()
            for name in categories {
                if present.contains(name) {
                    wanted.insert(name)
                } else if let family = SpecBenchFamily(rawValue: name), !family.categories.filter(present.contains).isEmpty {
                    wanted.formUnion(family.categories)
                } else {
                    let families = SpecBenchFamily.allCases.filter { !$0.categories.filter(present.contains).isEmpty }
                        .map(\.rawValue).filter { !present.contains($0) }
                    throw DatasetError.unknownCategory(name, available: self.categories + families)
                }
            }
            chosen = chosen.filter { wanted.contains($0.category) }
        }
        if let perCategory {
            var count: [String: Int] = [:]
            chosen = chosen.filter { p in
                count[p.category, default: 0] += 1
                return count[p.category, default: 0] <= perCategory
            }
        }
        if let perFamily {
            // Per group: queues per category in order of appearance, drained round-robin.
            var queues: [String: [[BenchPrompt]]] = [:]
            var categoryIndex: [String: Int] = [:]
            for p in chosen {
                let group = SpecBenchFamily.groupKey(forCategory: p.category)
                if let i = categoryIndex[p.category] {
                    queues[group]![i].append(p)
                } else {
                    categoryIndex[p.category] = queues[group, default: []].count
                    queues[group, default: []].append([p])
                }
            }
            var keep = Set<QuestionID>()
            for (_, lists) in queues {
                var taken = 0, depth = 0
                while taken < perFamily && lists.contains(where: { $0.count > depth }) {
                    for list in lists where list.count > depth && taken < perFamily {
                        keep.insert(list[depth].id)
                        taken += 1
                    }
                    depth += 1
                }
            }
            chosen = chosen.filter { keep.contains($0.id) }
        }
        if let limit { chosen = Array(chosen.prefix(max(0, limit))) }
        return chosen
    }

    /// The default dataset: ``defaultRelativePath`` under `currentDirectory`, else under the nearest
    /// folder above the executable that holds it (the repository a built `specdec` lives in).
    public static func locateDefault(currentDirectory: String = FileManager.default.currentDirectoryPath,
                                     executablePath: String? = Self.executablePath()) throws -> String {
        let fm = FileManager.default
        var searched = [URL(fileURLWithPath: currentDirectory).appendingPathComponent(defaultRelativePath).path]
        if fm.fileExists(atPath: searched[0]) { return searched[0] }
        if let executablePath {
            var dir = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
            while dir.path != "/" && !dir.path.isEmpty {
                let candidate = dir.appendingPathComponent(defaultRelativePath).path
                if fm.fileExists(atPath: candidate) { return candidate }
                dir = dir.deletingLastPathComponent()
            }
            searched.append("the folders above \(executablePath)")
        }
        throw DatasetError.noDefaultDataset(searched: searched)
    }

    /// The path of the running executable (`/proc/self/exe` on Linux).
    public static func executablePath() -> String? {
        if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return link }
        return Bundle.main.executablePath ?? CommandLine.arguments.first
    }

    private static func parse(row: String, line: Int) throws -> BenchPrompt {
        let raw: RawRow
        do {
            raw = try JSONDecoder().decode(RawRow.self, from: Data(row.utf8))
        } catch let e as RowError {
            switch e {
            case .wrongType(let field, let expected): throw DatasetError.wrongType(line: line, field: field, expected: expected)
            }
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            throw DatasetError.badJSON(line: line, reason: "the line is not an object")
        } catch {
            throw DatasetError.badJSON(line: line, reason: Self.reason(error))
        }
        guard let id = raw.id else { throw DatasetError.missingField(line: line, field: "question_id") }
        guard let category = raw.category else { throw DatasetError.missingField(line: line, field: "category") }
        guard !category.trimmingCharacters(in: .whitespaces).isEmpty else { throw DatasetError.emptyCategory(line: line) }
        guard let turns = raw.turns else { throw DatasetError.missingField(line: line, field: "turns") }
        guard !turns.isEmpty else { throw DatasetError.emptyTurns(line: line) }
        if let blank = turns.firstIndex(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
            throw DatasetError.emptyTurn(line: line, turn: blank + 1)
        }
        return BenchPrompt(id: id, category: category, turns: turns)
    }

    private static func reason(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? context.debugDescription
        }
        return "\(error)"
    }
}

/// A row's fields; each is checked for its type here and for presence by the caller.
private struct RawRow: Decodable {
    var id: QuestionID?
    var category: String?
    var turns: [String]?

    enum CodingKeys: String, CodingKey { case id = "question_id", category, turns }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        do { id = try c.decodeIfPresent(QuestionID.self, forKey: .id) } catch {
            throw RowError.wrongType("question_id", "an integer or a string")
        }
        do { category = try c.decodeIfPresent(String.self, forKey: .category) } catch {
            throw RowError.wrongType("category", "a string")
        }
        do { turns = try c.decodeIfPresent([String].self, forKey: .turns) } catch {
            throw RowError.wrongType("turns", "an array of strings")
        }
    }
}

private enum RowError: Error {
    case wrongType(String, String)
}
