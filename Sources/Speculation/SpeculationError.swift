/// Errors of speculative decoding: bad configuration, an unusable draft model, or a request that
/// does not fit the target's context.
public enum SpeculationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The draft model cannot draft for the target (vocabulary mismatch); the message says how.
    case incompatibleDraft(String)
    /// A configuration value is out of range; the message names it and its value.
    case invalidParameter(String)
    /// ``SpeculativeDecoder/start(prompt:sampling:)`` was given no tokens.
    case emptyPrompt
    /// The prompt does not fit the target's context.
    case promptTooLong(tokens: Int, context: Int)
    /// Every position of the target's context is used; no further token can be verified.
    case contextFull(context: Int)
    /// ``SpeculativeDecoder/step(maxNewTokens:)`` was called before ``SpeculativeDecoder/start(prompt:sampling:)``.
    case notStarted
    /// A prompt token is outside the target's vocabulary.
    case tokenOutOfRange(token: Int32, index: Int, vocabularySize: Int)

    public var description: String {
        switch self {
        case .incompatibleDraft(let s): return "incompatible draft model: \(s)"
        case .invalidParameter(let s): return "invalid speculation parameter: \(s)"
        case .emptyPrompt: return "the prompt is empty"
        case .promptTooLong(let n, let c): return "the prompt has \(n) tokens but the target's context holds \(c)"
        case .contextFull(let c): return "the target's context of \(c) tokens is full"
        case .notStarted: return "step() was called before start(prompt:)"
        case .tokenOutOfRange(let t, let i, let v): return "prompt token \(t) at index \(i) is outside the target's vocabulary of \(v) tokens"
        }
    }
}
