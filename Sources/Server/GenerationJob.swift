import SpecDecEngine
import SpecDecTokenizer

/// A validated request, ready for a slot: prompt tokens, generation options and the speculation to run.
public struct GenerationJob: Sendable {
    /// Which endpoint asked (decides the response's shape).
    public enum Kind: String, Sendable { case completion, chat }

    public var kind: Kind
    public var prompt: [Int32]
    public var options: GenerationOptions
    /// The session this job runs on (a slot keeps its session, and so its cached prefix, while the key
    /// stays the same).
    public var session: SessionSpec
    public var stream: Bool
    public var includeUsage: Bool

    public init(kind: Kind, prompt: [Int32], options: GenerationOptions, session: SessionSpec, stream: Bool, includeUsage: Bool) {
        self.kind = kind
        self.prompt = prompt
        self.options = options
        self.session = session
        self.stream = stream
        self.includeUsage = includeUsage
    }
}

/// How a job generates: plainly, speculatively with these options, or routed by R-Stitch.
public enum SessionSpec: Sendable, Equatable {
    case plain
    case speculative(SpeculativeFields)
    case rstitch

    /// The speculation options of a `.speculative` spec, applied over the server's.
    func speculationOptions(base: SpeculationOptions) throws -> SpeculationOptions {
        guard case .speculative(let f) = self else { return base }
        return try f.apply(to: base)
    }
}

extension SpeculativeFields {
    /// The server's options with these fields applied (the CLI's rules and messages).
    func apply(to base: SpeculationOptions) throws -> SpeculationOptions {
        var o = base
        if let drafter {
            do { try o.setDrafter(drafter) } catch { throw APIError.invalid("speculative.drafter: \(error)", param: "speculative.drafter") }
        }
        switch draftMax {
        case nil: break
        case .auto?: o.draftMax = 8
        case .value(let n)?: o.draftMax = n
        }
        if let verifier {
            guard let v = VerifierKind(rawValue: verifier) else {
                let known = VerifierKind.allCases.map(\.rawValue).joined(separator: ", ")
                throw APIError.invalid("speculative.verifier must be one of \(known), got '\(verifier)'", param: "speculative.verifier")
            }
            o.verifier = v
        }
        if let costModel { o.costModel = costModel }
        if let draftPolicy {
            guard let p = DraftPolicyKind(rawValue: draftPolicy) else {
                throw APIError.invalid("speculative.draft_policy must be fixed, p-min or confidence, got '\(draftPolicy)'",
                                       param: "speculative.draft_policy")
            }
            o.draftPolicy = p
        }
        if let draftPMin { o.draftMinProbability = draftPMin }
        if let treeWidth { o.treeWidth = treeWidth }
        if let treeNodes { o.treeNodes = treeNodes }
        if let lookupMin { o.lookupMin = lookupMin }
        if let lookupMax { o.lookupMax = lookupMax }
        if let topBeta { o.topBeta = topBeta }
        if let tolerance { o.tolerance = tolerance }
        if let confidenceTolerance { o.confidenceTolerance = confidenceTolerance }
        do { try o.validate() } catch { throw APIError.invalid("speculative: \(error)", param: "speculative") }
        return o
    }

    /// True when these fields ask for plain decoding.
    var isPlain: Bool { drafter == "none" && (verifier == nil || verifier == "auto") }
}

/// Turns request bodies into jobs, checking every field against the model and the server's limits.
public struct JobBuilder: Sendable {
    public let configuration: ServerConfiguration
    /// The model requests run on (tokenizer, chat template, context length).
    public let model: LoadedModel
    /// Whether the server has a draft model (for drafters that need one).
    public let hasDraftModel: Bool

    public init(configuration: ServerConfiguration, model: LoadedModel, hasDraftModel: Bool) {
        self.configuration = configuration
        self.model = model
        self.hasDraftModel = hasDraftModel
    }

    /// A job for `POST /v1/completions`.
    public func job(_ r: CompletionRequest) throws -> GenerationJob {
        let prompt: [Int32]
        switch r.prompt {
        case .text(let s): prompt = model.tokenizer.encode(s)
        case .texts(let l):
            guard l.count == 1 else { throw APIError.invalid("one prompt per request is served (got \(l.count))", param: "prompt") }
            prompt = model.tokenizer.encode(l[0])
        case .tokens(let t): prompt = try tokenIDs(t)
        case .tokenLists(let l):
            guard l.count == 1 else { throw APIError.invalid("one prompt per request is served (got \(l.count))", param: "prompt") }
            prompt = try tokenIDs(l[0])
        }
        var options = try generationOptions(r, promptCount: prompt.count)
        // A raw completion stops at the end-of-sequence token only, as other servers do.
        options.stopAtEndOfTurn = true
        return GenerationJob(kind: .completion, prompt: prompt, options: options, session: try session(r), stream: r.stream ?? false,
                             includeUsage: r.streamOptions?.includeUsage ?? false)
    }

    /// A job for `POST /v1/chat/completions`: the messages rendered with the model's chat template.
    public func job(_ r: ChatCompletionRequest) throws -> GenerationJob {
        guard !r.messages.isEmpty else { throw APIError.invalid("messages must not be empty", param: "messages") }
        var messages: [ChatMessage] = []
        for (i, m) in r.messages.enumerated() {
            let role = m.role == "developer" ? "system" : m.role
            guard ["system", "user", "assistant"].contains(role) else {
                throw APIError.invalid("messages[\(i)].role must be system, developer, user or assistant, got '\(m.role)'",
                                       param: "messages[\(i)].role")
            }
            let text: String
            switch m.content {
            case nil: text = ""
            case .text(let s)?: text = s
            case .parts(let parts)?:
                var pieces: [String] = []
                for (j, p) in parts.enumerated() {
                    guard p.type == "text", let t = p.text else {
                        throw APIError.invalid("messages[\(i)].content[\(j)]: only text parts are served (got type '\(p.type)')",
                                               param: "messages[\(i)].content")
                    }
                    pieces.append(t)
                }
                text = pieces.joined(separator: "\n")
            }
            messages.append(ChatMessage(role: role, content: text))
        }
        let prompt = model.tokenizer.encode(model.chatTemplate.render(messages, addGenerationPrompt: true))
        var options = try generationOptions(r, promptCount: prompt.count)
        options.stopAtEndOfTurn = true
        return GenerationJob(kind: .chat, prompt: prompt, options: options, session: try session(r), stream: r.stream ?? false,
                             includeUsage: r.streamOptions?.includeUsage ?? false)
    }

    private func tokenIDs(_ ids: [Int]) throws -> [Int32] {
        let vocab = model.tokenizer.vocabularySize
        for id in ids where id < 0 || id >= vocab {
            throw APIError.invalid("token id \(id) is outside the vocabulary (0..<\(vocab))", param: "prompt")
        }
        return ids.map { Int32($0) }
    }

    private func generationOptions(_ r: some GenerationRequestFields, promptCount: Int) throws -> GenerationOptions {
        if let name = r.model, !name.isEmpty, name != configuration.modelName {
            throw APIError.unknownModel(name, served: configuration.modelName)
        }
        if let n = r.n, n != 1 { throw APIError.invalid("only n = 1 is served (got \(n))", param: "n") }
        guard promptCount > 0 else { throw APIError.invalid("the prompt is empty", param: "prompt") }
        let context = model.transformer.contextLength
        guard promptCount < context else {
            throw APIError.invalid("the prompt has \(promptCount) tokens, which leaves no room in the context of \(context) tokens",
                                   param: "prompt", code: "context_length_exceeded")
        }
        let maxTokens = r.tokenBudget ?? min(configuration.defaultMaxTokens, context - promptCount)
        guard maxTokens >= 0 else { throw APIError.invalid("max_tokens must be >= 0, got \(maxTokens)", param: "max_tokens") }
        guard maxTokens <= context else {
            throw APIError.invalid("max_tokens is \(maxTokens), more than the context of \(context) tokens", param: "max_tokens")
        }
        var sampling = SamplingParameters()
        // OpenAI's default temperature is 1; absent, this server decodes greedily (exact speculation).
        sampling.temperature = r.temperature ?? 0
        guard sampling.temperature.isFinite, sampling.temperature >= 0, sampling.temperature <= 2 else {
            throw APIError.invalid("temperature must be in [0, 2], got \(sampling.temperature)", param: "temperature")
        }
        if let p = r.topP {
            guard p > 0, p <= 1 else { throw APIError.invalid("top_p must be in (0, 1], got \(p)", param: "top_p") }
            sampling.topP = p
        }
        if let k = r.topK {
            guard k >= 0 else { throw APIError.invalid("top_k must be >= 0, got \(k)", param: "top_k") }
            sampling.topK = k
        }
        if let m = r.minP {
            guard m >= 0, m < 1 else { throw APIError.invalid("min_p must be in [0, 1), got \(m)", param: "min_p") }
            sampling.minP = m
        }
        sampling.seed = r.seed.map { UInt64(bitPattern: $0) } ?? UInt64.random(in: 0...UInt64.max)
        let stops = r.stop?.values ?? []
        guard stops.count <= 4 else { throw APIError.invalid("at most 4 stop strings (got \(stops.count))", param: "stop") }
        var options = GenerationOptions(maxTokens: maxTokens, sampling: sampling, stopStrings: stops.filter { !$0.isEmpty })
        options.stopAtEndOfTurn = true
        return options
    }

    private func session(_ r: some GenerationRequestFields) throws -> SessionSpec {
        if configuration.router != nil {
            guard r.speculative == nil else {
                throw APIError.invalid("this server routes with R-Stitch (--router rstitch): speculative fields do not apply",
                                       param: "speculative")
            }
            return .rstitch
        }
        guard let fields = r.speculative else {
            return configuration.speculativeByDefault ? .speculative(SpeculativeFields()) : .plain
        }
        if fields.isPlain { return .plain }
        let options = try fields.apply(to: configuration.speculation)
        if options.drafter == .none && options.verifier == .auto && !configuration.speculativeByDefault && fields.drafter == nil {
            // Only tuning fields for a server that does not speculate: nothing to speculate with.
            throw APIError.invalid("this server does not speculate by default: name a drafter in speculative.drafter",
                                   param: "speculative.drafter")
        }
        if options.usesDraftModel && !hasDraftModel {
            throw APIError.invalid("speculative.drafter '\(options.drafter.rawValue)' needs a draft model; this server was started without --draft-model",
                                   param: "speculative.drafter")
        }
        if options.isGreedyOnly && !(r.temperature ?? 0 == 0) {
            throw APIError.invalid("the cross-vocab drafter drafts for greedy decoding only (temperature 0)", param: "temperature")
        }
        return .speculative(fields)
    }
}
