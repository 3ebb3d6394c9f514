import SpecDecGGUF
import SpecDecModel
@_exported import SpecDecSpeculation
import SpecDecTokenizer

/// A model ready to generate: weights, tokenizer and chat template from one GGUF file.
public final class LoadedModel: @unchecked Sendable {
    /// Name shown in outputs (the known name, or the file name).
    public let name: String
    public let file: GGUFFile
    public let transformer: Transformer
    public let tokenizer: Tokenizer
    public let chatTemplate: ChatTemplate

    /// Loads the model at `path`.
    public init(path: String, name: String? = nil, contextLength: Int? = nil, threads: Int? = nil,
                exactMatmul: Bool = false) throws {
        let file = try GGUFFile(path: path)
        self.file = file
        self.name = name ?? String(path.split(separator: "/").last ?? Substring(path))
        transformer = try Transformer(file: file, contextLength: contextLength, threads: threads, exactMatmul: exactMatmul)
        tokenizer = try Tokenizer(gguf: file)
        chatTemplate = ChatTemplate.detect(gguf: file, tokenizer: tokenizer)
    }

    /// Resolves `nameOrPath` with `store` (pulling a known model on first use) and loads it.
    public convenience init(_ nameOrPath: String, store: ModelStore = ModelStore(), contextLength: Int? = nil,
                            threads: Int? = nil) throws {
        let path = try store.resolve(nameOrPath)
        try self.init(path: path, name: ModelStore.model(named: nameOrPath)?.name, contextLength: contextLength, threads: threads)
    }

    /// Another instance of `other` over the same mapped file and weights, with its own KV cache and
    /// threads (``Transformer/init(sharingWeightsOf:contextLength:threads:)``): one per server slot.
    public init(sharingWeightsOf other: LoadedModel, contextLength: Int? = nil, threads: Int? = nil) throws {
        file = other.file
        name = other.name
        transformer = try Transformer(sharingWeightsOf: other.transformer, contextLength: contextLength, threads: threads)
        tokenizer = other.tokenizer
        chatTemplate = other.chatTemplate
        costProfile = other.costProfile
    }

    private var heads: [String: TrimmedHead] = [:]

    /// The measured forward times V(n) of this model (``ForwardCostProfile``), once measured: every
    /// speculative generator on this model shares them (and refines them as it verifies).
    public var costProfile: ForwardCostProfile?

    /// A trimmed output layer over the tokens `tokens` returns, built once per `key` and kept (the
    /// drafters of several requests or benchmark methods share it; `tokens` runs only on a miss).
    public func trimmedHead(key: String, tokens: () throws -> [Int32]) throws -> TrimmedHead {
        if let h = heads[key] { return h }
        let h = try TrimmedHead(model: transformer, tokens: tokens())
        heads[key] = h
        return h
    }

    /// Tokens of `prompt`, wrapped in the chat template when `chat` is true.
    public func promptTokens(_ prompt: String, chat: Bool, system: String? = nil) -> [Int32] {
        if chat {
            var messages: [ChatMessage] = []
            if let system { messages.append(ChatMessage(role: "system", content: system)) }
            messages.append(ChatMessage(role: "user", content: prompt))
            return tokenizer.encode(chatTemplate.render(messages, addGenerationPrompt: true))
        }
        return tokenizer.encode(prompt)
    }
}
