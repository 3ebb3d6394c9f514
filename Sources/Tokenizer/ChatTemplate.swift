import SpecDecGGUF

/// One message of a conversation.
public struct ChatMessage: Sendable, Codable, Equatable {
    /// "system", "user" or "assistant".
    public var role: String
    /// The message text.
    public var content: String

    /// A message from `role` with text `content`.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    /// A system message.
    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    /// A user message.
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
    /// An assistant message.
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }
}

/// The prompt formats of the supported model families, rendered to text that is then encoded
/// with `parseSpecial` so the markers become control tokens.
public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>role\n…<|im_end|>\n` per message (Qwen2, SmolLM2). When the first message is
    /// not a system message and `defaultSystem` is set, a system message with it comes first.
    case chatML(defaultSystem: String?)
    /// Gemma 3: `<start_of_turn>user\n…<end_of_turn>\n`; the assistant role is "model", a system
    /// message is prepended to the first turn's text followed by a blank line, and message text
    /// is trimmed. BOS is not rendered: the tokenizer adds it.
    case gemma

    /// The default system prompt used for Qwen models.
    public static let qwenDefaultSystem = "You are a helpful assistant."

    /// Picks the template for a model: Gemma when `<start_of_turn>` is in the vocabulary, else ChatML.
    ///
    /// ChatML's default system prompt is "You are a helpful assistant." for Qwen models
    /// (`tokenizer.ggml.pre` "qwen2" or a "qwen" architecture); for others it is the default
    /// system message written in `tokenizer.chat_template`, if any
    /// (SmolLM2: "You are a helpful AI assistant named SmolLM, trained by Hugging Face").
    public static func detect(gguf: GGUFFile, tokenizer: Tokenizer) -> ChatTemplate {
        if tokenizer.tokenID("<start_of_turn>") != nil { return .gemma }
        let arch = gguf.metadata["general.architecture"]?.string ?? ""
        if tokenizer.preTokenizerName == "qwen2" || arch.lowercased().hasPrefix("qwen") {
            return .chatML(defaultSystem: qwenDefaultSystem)
        }
        let template = gguf.metadata["tokenizer.chat_template"]?.string ?? ""
        return .chatML(defaultSystem: defaultSystemPrompt(inTemplate: template))
    }

    /// The literal default system message in a Jinja ChatML template: the text between
    /// `<|im_start|>system` + newline (written either as `\n` or as a real newline) and `<|im_end|>`,
    /// when it contains no template syntax. Nil when there is none.
    public static func defaultSystemPrompt(inTemplate template: String) -> String? {
        let marker = "<|im_start|>system"
        var rest = Substring(template)
        while let r = rest.firstRange(of: marker) {
            var after = rest[r.upperBound...]
            rest = after
            if after.hasPrefix("\\n") {
                after = after.dropFirst(2)
            } else if after.hasPrefix("\n") {
                after = after.dropFirst(1)
            } else {
                continue
            }
            guard let end = after.firstRange(of: "<|im_end|>") else { continue }
            let text = after[..<end.lowerBound]
            if text.isEmpty || text.contains(where: { "'\"{}+\n\\".contains($0) }) { continue }
            return String(text)
        }
        return nil
    }

    /// The prompt text for `messages`.
    /// - Parameter addGenerationPrompt: end with the opening of an assistant turn.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        switch self {
        case .chatML(let defaultSystem):
            var out = ""
            if let system = defaultSystem, messages.first?.role != "system" {
                out += "<|im_start|>system\n\(system)<|im_end|>\n"
            }
            for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
            return out
        case .gemma:
            var rest = messages[...]
            var prefix = ""
            if let first = rest.first, first.role == "system" {
                prefix = first.content + "\n\n"
                rest = rest.dropFirst()
            }
            var out = ""
            for (i, m) in rest.enumerated() {
                let role = m.role == "assistant" ? "model" : m.role
                let content = m.content.trimmedWhitespace()
                out += "<start_of_turn>\(role)\n\(i == 0 ? prefix : "")\(content)<end_of_turn>\n"
            }
            if addGenerationPrompt { out += "<start_of_turn>model\n" }
            return out
        }
    }

    /// Tokens that end the assistant's turn for this template (plus the tokenizer's end-of-turn set).
    public func stopTokens(for tokenizer: Tokenizer) -> Set<Int32> {
        var stops = tokenizer.endOfTurnTokens
        let marker: String
        switch self {
        case .chatML: marker = "<|im_end|>"
        case .gemma: marker = "<end_of_turn>"
        }
        if let id = tokenizer.tokenID(marker) { stops.insert(id) }
        return stops
    }
}

private extension String {
    /// The string without leading and trailing whitespace (Jinja's `trim`), without Foundation.
    func trimmedWhitespace() -> String {
        // By Unicode scalars, as the reference template's Python `strip()`: a combining mark that
        // follows a space belongs to the space's character but is not whitespace, and stays (found by
        // fuzzing: Fuzz/Regressions/chattemplate-combining-mark).
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
