/// Why an evaluation data set could not be read. Errors about a row name its 1-based line number
/// in the file (blank lines count).
///
/// `runs.jsonl` problems are reported as ``RunLogError``, as the benchmark's are.
public enum EvalError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case badJSON(line: Int, reason: String)
    case missingField(line: Int, field: String)
    case wrongType(line: Int, field: String, expected: String)
    case emptyField(line: Int, field: String)
    /// The solution has no `####` marker before its final answer.
    case missingAnswerMarker(line: Int)
    /// What follows the last `####` is not a number.
    case badReference(line: Int, text: String)
    case noProblems(path: String)
    /// No `--dataset` was given and the bundled file (at this path relative to the repository) was
    /// not found next to the current directory or the executable.
    case datasetNotFound(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read the data set \(path): \(reason)"
        case .badJSON(let line, let reason): return "data set line \(line): not a JSON object (\(reason))"
        case .missingField(let line, let field): return "data set line \(line): missing field \"\(field)\""
        case .wrongType(let line, let field, let expected): return "data set line \(line): \"\(field)\" must be \(expected)"
        case .emptyField(let line, let field): return "data set line \(line): \"\(field)\" is empty"
        case .missingAnswerMarker(let line):
            return "data set line \(line): the answer has no \"####\" before its final number"
        case .badReference(let line, let text):
            return "data set line \(line): \"#### \(text)\" does not end the answer with a number"
        case .noProblems(let path): return "the data set \(path) holds no problems"
        case .datasetNotFound(let relative):
            return "\(relative) was found neither under the current directory nor above the executable; give --dataset PATH"
        }
    }
}
