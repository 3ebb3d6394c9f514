/// Errors raised while building a ``Tokenizer`` from GGUF metadata.
///
/// Each case names the metadata key involved, so a bad file can be diagnosed from the message alone.
public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A required metadata key is absent.
    case missingMetadata(key: String)
    /// A metadata key is present but has the wrong type or an unusable value.
    case invalidMetadata(key: String, reason: String)
    /// `tokenizer.ggml.model` names a tokenizer this module does not implement.
    case unsupportedModel(String)
    /// `tokenizer.ggml.pre` names a byte-level BPE pre-tokenizer this module does not implement.
    case unsupportedPreTokenizer(String?)
    /// A per-token array (types, scores) does not have one entry per token.
    case lengthMismatch(key: String, expected: Int, found: Int)
    /// A special-token id is outside the vocabulary.
    case tokenOutOfRange(key: String, id: Int, vocabularySize: Int)
    /// The same token text appears twice in the vocabulary.
    case duplicateToken(text: String, firstID: Int, secondID: Int)
    /// A BPE merge rule is malformed or refers to text that is not in the vocabulary.
    case invalidMerge(index: Int, rule: String, reason: String)

    /// A one-line explanation naming the offending metadata key.
    public var description: String {
        switch self {
        case .missingMetadata(let key):
            return "tokenizer metadata key '\(key)' is missing"
        case .invalidMetadata(let key, let reason):
            return "tokenizer metadata key '\(key)' is invalid: \(reason)"
        case .unsupportedModel(let name):
            return "unsupported tokenizer model '\(name)' in 'tokenizer.ggml.model' (supported: 'llama', 'gpt2')"
        case .unsupportedPreTokenizer(let name):
            let shown = name.map { "'\($0)'" } ?? "(missing)"
            return "unsupported byte-level BPE pre-tokenizer \(shown) in 'tokenizer.ggml.pre' "
                + "(supported: \(PreTokenizerKind.supportedNames.joined(separator: ", ")))"
        case .lengthMismatch(let key, let expected, let found):
            return "tokenizer metadata key '\(key)' has \(found) entries but the vocabulary has \(expected) tokens"
        case .tokenOutOfRange(let key, let id, let size):
            return "tokenizer metadata key '\(key)' is token id \(id), outside the vocabulary of \(size) tokens"
        case .duplicateToken(let text, let first, let second):
            return "token text \(String(reflecting: text)) appears twice in the vocabulary (ids \(first) and \(second))"
        case .invalidMerge(let index, let rule, let reason):
            return "BPE merge #\(index) \(String(reflecting: rule)) in 'tokenizer.ggml.merges' is invalid: \(reason)"
        }
    }
}
