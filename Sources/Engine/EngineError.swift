/// Errors of the generation engine and the model store.
public enum EngineError: Error, CustomStringConvertible, Equatable {
    case invalidParameter(String)
    case unknownModel(String, known: [String])
    case pullFailed(model: String, reason: String)
    case checksumMismatch(model: String, expected: String, actual: String)
    case promptTooLong(tokens: Int, context: Int)
    case emptyPrompt
    case incompatibleDraft(target: String, draft: String, difference: String)

    public var description: String {
        switch self {
        case .invalidParameter(let s): return "invalid parameter: \(s)"
        case .unknownModel(let name, let known):
            return "'\(name)' is neither a file nor a known model name (known: \(known.joined(separator: ", ")))"
        case .pullFailed(let model, let reason): return "could not pull \(model): \(reason)"
        case .checksumMismatch(let model, let e, let a):
            return "SHA-256 of \(model) is \(a), expected \(e): refusing the file"
        case .promptTooLong(let t, let c):
            return "the prompt has \(t) tokens, which leaves no room in the context of \(c) tokens (use --context to raise it)"
        case .emptyPrompt: return "the prompt is empty"
        case .incompatibleDraft(let t, let d, let diff):
            return "draft model \(d) cannot draft for \(t): their vocabularies differ (\(diff))"
        }
    }
}
