import Foundation

/// One grade-school math word problem of GSM8K (Cobbe et al. 2021, arXiv:2110.14168).
public struct GSM8KProblem: Sendable, Equatable {
    /// 0-based position among the problems of the file (blank lines are not counted).
    public var index: Int
    public var question: String
    /// The reference solution as written: the reasoning, then `#### ` and the final answer.
    public var solution: String
    /// The final answer: the number after the last `####`, normalized by ``GSM8K/normalize(number:)``
    /// (commas and spaces removed, so `#### 1,000` gives `1000`).
    public var reference: String

    public init(index: Int, question: String, solution: String, reference: String) {
        self.index = index
        self.question = question
        self.solution = solution
        self.reference = reference
    }
}

/// A parsed GSM8K `test.jsonl`: one JSON object per line with `question` and `answer` (strings,
/// the answer ending in `#### N`); other fields are ignored, blank lines skipped.
///
/// ```swift
/// let dataset = try GSM8KDataset(path: GSM8KDataset.locateDefault() ?? "Data/gsm8k/test.jsonl")
/// for problem in dataset.select(limit: 100) {
///     let prompt = GSM8K.userMessage(for: problem)
///     // … generate `output` …
///     let correct = GSM8K.isCorrect(GSM8K.extractAnswer(from: output), reference: problem.reference)
/// }
/// ```
public struct GSM8KDataset: Sendable {
    /// The problems in file order; `problems[i].index == i`.
    public var problems: [GSM8KProblem]

    /// Where the bundled GSM8K test set lives, relative to the repository root.
    public static let defaultRelativePath = "Data/gsm8k/test.jsonl"

    public init(problems: [GSM8KProblem]) { self.problems = problems }

    /// Reads and parses the file at `path`; a file without problems is an error.
    public init(path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw EvalError.unreadable(path: path, reason: error.localizedDescription)
        }
        try self.init(jsonl: String(decoding: data, as: UTF8.self))
        if problems.isEmpty { throw EvalError.noProblems(path: path) }
    }

    /// Parses JSON-lines text; throws an ``EvalError`` naming the first bad line.
    public init(jsonl text: String) throws {
        var problems: [GSM8KProblem] = []
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let body = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if body.isEmpty { continue }
            problems.append(try Self.parse(row: body, line: offset + 1, index: problems.count))
        }
        self.problems = problems
    }

    /// The first `limit` problems (all of them when `limit` is nil).
    public func select(limit: Int?) -> [GSM8KProblem] {
        guard let limit else { return problems }
        return Array(problems.prefix(max(0, limit)))
    }

    /// The bundled data set: ``defaultRelativePath`` under `currentDirectory`, else under the nearest
    /// folder above the executable that holds it (the repository a built `specdec` lives in); nil
    /// when neither has it.
    public static func locateDefault(currentDirectory: String = FileManager.default.currentDirectoryPath,
                                     executablePath: String? = BenchDataset.executablePath()) -> String? {
        let fm = FileManager.default
        let here = URL(fileURLWithPath: currentDirectory).appendingPathComponent(defaultRelativePath).path
        if fm.fileExists(atPath: here) { return here }
        guard let executablePath else { return nil }
        var dir = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
        while dir.path != "/" && !dir.path.isEmpty {
            let candidate = dir.appendingPathComponent(defaultRelativePath).path
            if fm.fileExists(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    private static func parse(row: String, line: Int, index: Int) throws -> GSM8KProblem {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(row.utf8), options: [.fragmentsAllowed])
        } catch {
            throw EvalError.badJSON(line: line, reason: Self.reason(error))
        }
        guard let object = parsed as? [String: Any] else {
            throw EvalError.badJSON(line: line, reason: "the line is not an object")
        }
        func string(_ field: String) throws -> String {
            guard let value = object[field], !(value is NSNull) else { throw EvalError.missingField(line: line, field: field) }
            guard let s = value as? String else { throw EvalError.wrongType(line: line, field: field, expected: "a string") }
            guard !s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw EvalError.emptyField(line: line, field: field)
            }
            return s
        }
        let question = try string("question")
        let solution = try string("answer")
        guard let marker = solution.range(of: "####", options: .backwards) else {
            throw EvalError.missingAnswerMarker(line: line)
        }
        let tail = solution[marker.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
        let compact = tail.filter { $0 != "," && !$0.isWhitespace }
        guard let reference = GSM8K.normalize(number: compact) else {
            throw EvalError.badReference(line: line, text: tail)
        }
        return GSM8KProblem(index: index, question: question, solution: solution, reference: reference)
    }

    private static func reason(_ error: Error) -> String {
        let nsError = error as NSError
        return (nsError.userInfo[NSDebugDescriptionErrorKey] as? String) ?? nsError.localizedDescription
    }
}

/// Prompting and scoring for GSM8K: the model is asked to reason step by step and finish with
/// `The answer is N.`; its answer is the last number it wrote, compared numerically with the
/// reference (the "flexible extract" rule of common GSM8K harnesses).
///
/// ```swift
/// GSM8K.extractAnswer(from: "3 + 4 = 7 apples, so $1,234.50 in all.")   // "1234.5"
/// GSM8K.isCorrect("72.0", reference: "72")                               // true
/// ```
public enum GSM8K {
    /// The text put after the question in the user message.
    public static let instruction = """
        Solve the problem step by step. Then write the final answer on its own line as "The answer is N.", \
        where N is a number.
        """

    /// The user message for `problem`: its question, a blank line, then ``instruction``.
    public static func userMessage(for problem: GSM8KProblem) -> String {
        problem.question + "\n\n" + instruction
    }

    /// The last number in `output`, normalized as ``normalize(number:)`` does; nil when there is none.
    ///
    /// A number is a run of ASCII digits with, optionally, thousands groups (`1,234,567`: one to
    /// three digits, then groups of exactly three), a decimal part (`2.50`; a period not followed by
    /// a digit, as at the end of a sentence, is not part of it) or only a decimal part (`.5`). A `$`
    /// may come before it, and a minus sign (`-` or `−`) before that or before the digits, when the
    /// sign does not follow a letter or digit (so `10-5` is 10 and 5, not −5). Fractions are not
    /// understood: `1/2` ends in the number 2.
    public static func extractAnswer(from output: String) -> String? {
        let s = Array(output.unicodeScalars)
        let n = s.count
        func isDigit(_ i: Int) -> Bool { i >= 0 && i < n && ("0"..."9").contains(s[i]) }
        func isWordCharacter(_ i: Int) -> Bool { i >= 0 && i < n && (isDigit(i) || s[i].properties.isAlphabetic) }
        var last: String?
        var i = 0
        while i < n {
            // A number starts at a digit, or at a period followed by a digit that does not continue one.
            let leadingPoint = s[i] == "." && isDigit(i + 1) && !isDigit(i - 1) && !(i > 0 && s[i - 1] == ".")
            guard isDigit(i) || leadingPoint else { i += 1; continue }
            let start = i
            var integer = ""
            while isDigit(i) { integer.unicodeScalars.append(s[i]); i += 1 }
            if (1...3).contains(integer.count) {
                while i + 3 < n, s[i] == ",", isDigit(i + 1), isDigit(i + 2), isDigit(i + 3), !isDigit(i + 4) {
                    integer.unicodeScalars.append(contentsOf: s[(i + 1)...(i + 3)])
                    i += 4
                }
            }
            var fraction = ""
            if i < n, s[i] == ".", isDigit(i + 1) {
                i += 1
                while isDigit(i) { fraction.unicodeScalars.append(s[i]); i += 1 }
            }
            var k = start - 1
            if k >= 0 && s[k] == "$" { k -= 1 }
            let negative = k >= 0 && (s[k] == "-" || s[k] == "\u{2212}") && !isWordCharacter(k - 1)
            last = canonical(negative: negative, integer: integer, fraction: fraction)
        }
        return last
    }

    /// `number` in canonical form, or nil when it is not a number: surrounding whitespace, commas,
    /// a `$` and a `+` sign dropped, leading zeros of the integer part and trailing zeros of the
    /// decimal part removed (`"5.00"` → `"5"`, `"2.50"` → `"2.5"`, `"$1,234"` → `"1234"`), `-0` → `0`.
    /// Two numbers are equal exactly when their canonical forms are.
    public static func normalize(number: String) -> String? {
        var s = Substring(number.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: ",", with: ""))
        var negative = false
        func takeSign() {
            if let c = s.first, c == "-" || c == "\u{2212}" || c == "+" {
                negative = c != "+"
                s = s.dropFirst()
            }
        }
        takeSign()
        if s.first == "$" {
            s = s.dropFirst()
            if !negative { takeSign() }
        }
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let integer = String(parts[0])
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        func allDigits(_ t: String) -> Bool { t.unicodeScalars.allSatisfy { ("0"..."9").contains($0) } }
        guard !(integer.isEmpty && fraction.isEmpty), allDigits(integer), allDigits(fraction) else { return nil }
        return canonical(negative: negative, integer: integer, fraction: fraction)
    }

    /// Whether `extracted` is numerically equal to `reference` (both normalized; `72.0` equals `72`).
    /// False when nothing was extracted or either is not a number.
    public static func isCorrect(_ extracted: String?, reference: String) -> Bool {
        guard let extracted, let a = normalize(number: extracted), let b = normalize(number: reference) else { return false }
        return a == b
    }

    /// Digits (ASCII only) without leading integer zeros or trailing decimal zeros, and no sign on zero.
    private static func canonical(negative: Bool, integer: String, fraction: String) -> String {
        let whole = String(integer.drop(while: { $0 == "0" }))
        var decimals = fraction
        while decimals.last == "0" { decimals.removeLast() }
        let body = (whole.isEmpty ? "0" : whole) + (decimals.isEmpty ? "" : "." + decimals)
        return negative && body != "0" ? "-" + body : body
    }
}
