// The OpenAI API's request and response bodies, as `Codable` types. Keys are snake_case on the wire:
// the server's coders convert them (``APICoding``), so no type spells its keys by hand.

/// A string or a list of strings (`stop`, a completion `prompt`).
public enum StringOrList: Codable, Sendable, Equatable {
    case one(String)
    case list([String])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            self = .one(s)
        } else {
            self = .list(try c.decode([String].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .one(let s): try c.encode(s)
        case .list(let l): try c.encode(l)
        }
    }

    /// The strings, in order.
    public var values: [String] {
        switch self {
        case .one(let s): return [s]
        case .list(let l): return l
        }
    }
}

/// A completion prompt: text, a list of texts, token ids, or a list of token-id lists (only one prompt
/// per request is served: `n` = 1).
public enum PromptInput: Codable, Sendable, Equatable {
    case text(String)
    case texts([String])
    case tokens([Int])
    case tokenLists([[Int]])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            self = .text(s)
        } else if let l = try? c.decode([String].self) {
            self = .texts(l)
        } else if let t = try? c.decode([Int].self) {
            self = .tokens(t)
        } else if let t = try? c.decode([[Int]].self) {
            self = .tokenLists(t)
        } else {
            throw DecodingError.typeMismatch(PromptInput.self, .init(
                codingPath: decoder.codingPath,
                debugDescription: "prompt must be a string, a list of strings, or a list of token ids"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .text(let s): try c.encode(s)
        case .texts(let l): try c.encode(l)
        case .tokens(let t): try c.encode(t)
        case .tokenLists(let t): try c.encode(t)
        }
    }
}

/// `stream_options`.
public struct StreamOptions: Codable, Sendable, Equatable {
    /// Send a last chunk with `usage` (and no choices) before `[DONE]`.
    public var includeUsage: Bool?
}

/// Per-request speculation settings (the extra body field `speculative`), named like the CLI options;
/// fields left out keep the server's settings. `drafter: "none"` decodes plainly.
public struct SpeculativeFields: Codable, Sendable, Equatable, Hashable {
    /// `model`, `lookup`, `suffix`, `hybrid`, `self`, `cross-vocab`, `chain:A,B`, `none`.
    public var drafter: String?
    /// Most draft tokens per step: a number, or `"auto"` (8 with the cost model).
    public var draftMax: DraftMaxField?
    /// `auto`, `greedy`, `sampling`, `top-beta`, `confidence`.
    public var verifier: String?
    /// Pick each round's draft length from measured costs (default true).
    public var costModel: Bool?
    /// `fixed`, `p-min`, `confidence`.
    public var draftPolicy: String?
    public var draftPMin: Float?
    public var treeWidth: Int?
    public var treeNodes: Int?
    public var lookupMin: Int?
    public var lookupMax: Int?
    /// β of top-β verification.
    public var topBeta: Int?
    /// τ of top-β verification.
    public var tolerance: Float?
    /// λ of confidence verification.
    public var confidenceTolerance: Float?

    public init(drafter: String? = nil, draftMax: DraftMaxField? = nil, verifier: String? = nil) {
        self.drafter = drafter
        self.draftMax = draftMax
        self.verifier = verifier
    }
}

/// `draft_max`: a number or `"auto"`.
public enum DraftMaxField: Codable, Sendable, Equatable, Hashable {
    case auto
    case value(Int)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) {
            self = .value(n)
        } else if let s = try? c.decode(String.self), s == "auto" {
            self = .auto
        } else {
            throw DecodingError.typeMismatch(DraftMaxField.self, .init(
                codingPath: decoder.codingPath, debugDescription: "draft_max must be a positive integer or \"auto\""))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .auto: try c.encode("auto")
        case .value(let n): try c.encode(n)
        }
    }
}

/// The sampling and stopping fields both endpoints share.
public protocol GenerationRequestFields {
    var model: String? { get }
    var temperature: Float? { get }
    var topP: Float? { get }
    var topK: Int? { get }
    var minP: Float? { get }
    var seed: Int64? { get }
    var stop: StringOrList? { get }
    var n: Int? { get }
    var stream: Bool? { get }
    var streamOptions: StreamOptions? { get }
    var speculative: SpeculativeFields? { get }
    /// The requested token budget (`max_tokens`, or chat's `max_completion_tokens`).
    var tokenBudget: Int? { get }
}

/// `POST /v1/completions`.
public struct CompletionRequest: Codable, Sendable, Equatable, GenerationRequestFields {
    public var model: String?
    public var prompt: PromptInput
    public var maxTokens: Int?
    public var temperature: Float?
    public var topP: Float?
    public var topK: Int?
    public var minP: Float?
    public var seed: Int64?
    public var stop: StringOrList?
    public var n: Int?
    public var stream: Bool?
    public var streamOptions: StreamOptions?
    public var speculative: SpeculativeFields?

    public var tokenBudget: Int? { maxTokens }

    public init(prompt: PromptInput, maxTokens: Int? = nil, temperature: Float? = nil, stream: Bool? = nil) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.stream = stream
    }
}

/// One part of a chat message's content given as a list (only `text` parts are served).
public struct ContentPart: Codable, Sendable, Equatable {
    public var type: String
    public var text: String?
}

/// A chat message's content: a string or a list of parts.
public enum MessageContent: Codable, Sendable, Equatable {
    case text(String)
    case parts([ContentPart])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            self = .text(s)
        } else if let p = try? c.decode([ContentPart].self) {
            self = .parts(p)
        } else {
            throw DecodingError.typeMismatch(MessageContent.self, .init(
                codingPath: decoder.codingPath, debugDescription: "content must be a string or a list of text parts"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .text(let s): try c.encode(s)
        case .parts(let p): try c.encode(p)
        }
    }
}

/// One message of a chat request.
public struct ChatRequestMessage: Codable, Sendable, Equatable {
    public var role: String
    public var content: MessageContent?

    public init(role: String, content: String) {
        self.role = role
        self.content = .text(content)
    }
}

/// `POST /v1/chat/completions`.
public struct ChatCompletionRequest: Codable, Sendable, Equatable, GenerationRequestFields {
    public var model: String?
    public var messages: [ChatRequestMessage]
    public var maxTokens: Int?
    public var maxCompletionTokens: Int?
    public var temperature: Float?
    public var topP: Float?
    public var topK: Int?
    public var minP: Float?
    public var seed: Int64?
    public var stop: StringOrList?
    public var n: Int?
    public var stream: Bool?
    public var streamOptions: StreamOptions?
    public var speculative: SpeculativeFields?

    public var tokenBudget: Int? { maxCompletionTokens ?? maxTokens }

    public init(messages: [ChatRequestMessage], maxTokens: Int? = nil, temperature: Float? = nil, stream: Bool? = nil) {
        self.messages = messages
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.stream = stream
    }
}

/// `usage` of a response.
public struct Usage: Codable, Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int

    public init(prompt: Int, completion: Int) {
        promptTokens = prompt
        completionTokens = completion
        totalTokens = prompt + completion
    }
}

/// SpecDec's own figures of one response (an extra field `timings`, as llama-server adds one).
public struct Timings: Codable, Sendable, Equatable {
    public var promptTokens: Int
    public var prefillSeconds: Double
    public var generatedTokens: Int
    public var decodeSeconds: Double
    public var tokensPerSecond: Double
    /// Drafting counts (speculative requests).
    public var draftSteps: Int?
    public var drafted: Int?
    public var accepted: Int?
    public var meanAccepted: Double?
    /// The share of tokens the large model wrote (R-Stitch).
    public var llmTokenShare: Double?
}

/// One choice of a completion response.
public struct CompletionChoice: Codable, Sendable, Equatable {
    public var index: Int
    public var text: String
    public var finishReason: String?
}


/// What every response and streamed chunk shares: the id, `object`, `created`, the model, the choices
/// (the part that differs), and `usage` and `timings` when given.
public struct ResponseEnvelope<Choice: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var id: String
    /// `text_completion`, `chat.completion` or `chat.completion.chunk`.
    public var object: String
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage?
    public var timings: Timings?

    public init(id: String, object: String, created: Int, model: String, choices: [Choice], usage: Usage? = nil,
                timings: Timings? = nil) {
        self.id = id
        self.object = object
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
        self.timings = timings
    }
}

/// The response of `POST /v1/completions` (and each streamed chunk: `object` "text_completion").
public typealias CompletionResponse = ResponseEnvelope<CompletionChoice>
/// The response of `POST /v1/chat/completions` without streaming (`object` "chat.completion").
public typealias ChatCompletionResponse = ResponseEnvelope<ChatChoice>
/// One server-sent event of a streamed chat completion (`object` "chat.completion.chunk").
public typealias ChatCompletionChunk = ResponseEnvelope<ChatChunkChoice>

/// An assistant message of a chat response.
public struct ChatResponseMessage: Codable, Sendable, Equatable {
    public var role: String
    public var content: String
}

/// One choice of a chat response.
public struct ChatChoice: Codable, Sendable, Equatable {
    public var index: Int
    public var message: ChatResponseMessage
    public var finishReason: String?
}


/// The `delta` of a streamed chat chunk.
public struct ChatDelta: Codable, Sendable, Equatable {
    public var role: String?
    public var content: String?
}

/// One choice of a streamed chat chunk.
public struct ChatChunkChoice: Codable, Sendable, Equatable {
    public var index: Int
    public var delta: ChatDelta
    public var finishReason: String?
}


/// One entry of `GET /v1/models`.
public struct ModelEntry: Codable, Sendable, Equatable {
    public var id: String
    public var object = "model"
    public var created: Int
    public var ownedBy: String
}

/// `GET /v1/models`.
public struct ModelList: Codable, Sendable, Equatable {
    public var object = "list"
    public var data: [ModelEntry]
}

/// `GET /health`.
public struct HealthStatus: Codable, Sendable, Equatable {
    public var status: String
    public var slotsIdle: Int
    public var slotsBusy: Int
    public var queueDepth: Int

    public init(status: String, slotsIdle: Int, slotsBusy: Int, queueDepth: Int) {
        self.status = status
        self.slotsIdle = slotsIdle
        self.slotsBusy = slotsBusy
        self.queueDepth = queueDepth
    }
}

/// The body of every error response: `{"error": {"message", "type", "param", "code"}}`.
public struct ErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var message: String
        public var type: String
        public var param: String?
        public var code: String?
    }
    public var error: Detail
}
