import Dispatch
import Foundation
import Hummingbird
import Logging
import SpecDecEngine

/// The OpenAI-compatible HTTP server: routes, authentication, slots and metrics around the engine.
///
/// ```swift
/// let server = try SpecDecServer(configuration: config, target: model, draft: draft)
/// let app = Application(router: server.router(), configuration: .init(address: .hostname("127.0.0.1", port: 8080)))
/// try await app.runService()
/// ```
public final class SpecDecServer: Sendable {
    public let configuration: ServerConfiguration
    public let scheduler: SlotScheduler
    public let metrics: ServerMetrics
    let jobs: JobBuilder

    /// Builds `configuration.parallel` slots: the first runs on `target` (and `draft`) themselves, the
    /// others on instances sharing their weights, each with `threadsPerSlot` threads (default: theirs).
    public init(configuration: ServerConfiguration, target: LoadedModel, draft: LoadedModel?,
                threadsPerSlot: Int? = nil) throws {
        guard configuration.parallel >= 1 else { throw EngineError.invalidParameter("--parallel must be >= 1") }
        guard configuration.queue >= 0 else { throw EngineError.invalidParameter("--queue must be >= 0") }
        guard configuration.maxBodyBytes >= 1024 else { throw EngineError.invalidParameter("--max-body-bytes must be >= 1024") }
        if configuration.router != nil && draft == nil {
            throw EngineError.invalidParameter("--router rstitch needs --draft-model (the small model)")
        }
        self.configuration = configuration
        var slots = [Slot(index: 0, target: target, draft: draft, configuration: configuration)]
        for i in 1..<configuration.parallel {
            let t = try LoadedModel(sharingWeightsOf: target, threads: threadsPerSlot)
            let d = try draft.map { try LoadedModel(sharingWeightsOf: $0, threads: threadsPerSlot) }
            slots.append(Slot(index: i, target: t, draft: d, configuration: configuration))
        }
        scheduler = SlotScheduler(slots: slots, queueLimit: configuration.queue)
        metrics = ServerMetrics()
        jobs = JobBuilder(configuration: configuration, model: target, hasDraftModel: draft != nil)
    }

    /// The routes: `GET /health`, `/metrics`, `/openapi.json`, `/v1/models`; `POST /v1/completions`,
    /// `/v1/chat/completions`. Every error is an OpenAI-style error object.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorAndMetricsMiddleware(metrics: metrics))
        if let key = configuration.apiKey { router.add(middleware: APIKeyMiddleware(key: key)) }
        router.get("/health") { _, _ in try await self.health() }
        router.get("/metrics") { _, _ in await self.metricsResponse() }
        let document = OpenAPIDocument.json(model: configuration.modelName, vocabulary: jobs.model.tokenizer.vocabularySize)
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: document)))
        }
        router.get("/v1/models") { _, _ in
            let list = ModelList(data: [ModelEntry(id: self.configuration.modelName, created: self.configuration.created,
                                                   ownedBy: "specdec")])
            return try self.json(list)
        }
        router.post("/v1/completions") { request, context in
            let body: CompletionRequest = try await self.decode(request, context: context)
            return try await self.serve(try self.jobs.job(body))
        }
        router.post("/v1/chat/completions") { request, context in
            let body: ChatCompletionRequest = try await self.decode(request, context: context)
            return try await self.serve(try self.jobs.job(body))
        }
        return router
    }

    // MARK: - Handlers

    private func health() async throws -> Response {
        let busy = await scheduler.busySlots
        let queued = await scheduler.queueDepth
        return try json(HealthStatus(status: "ok", slotsIdle: scheduler.slots.count - busy, slotsBusy: busy, queueDepth: queued))
    }

    private func metricsResponse() async -> Response {
        metrics.scheduler(queueDepth: await scheduler.queueDepth, busySlots: await scheduler.busySlots)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.prometheusText())))
    }

    private func decode<T: Decodable>(_ request: Request, context: BasicRequestContext) async throws -> T {
        let limit = configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw APIError.tooLarge(limit: limit) }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch let e as HTTPError where e.status == .contentTooLarge {
            throw APIError.tooLarge(limit: limit)
        }
        let data = Data(buffer.readableBytesView)
        do {
            return try APICoding.decoder().decode(T.self, from: data)
        } catch {
            throw APIError.decoding(error, body: data)
        }
    }

    private func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try APICoding.encoder().encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Waits for a slot (429 when the queue is full) and answers with the whole response or a stream.
    private func serve(_ job: GenerationJob) async throws -> Response {
        let arrived = DispatchTime.now()
        let slot = try await scheduler.acquire()
        metrics.scheduler(queueDepth: await scheduler.queueDepth, busySlots: await scheduler.busySlots)
        let cancel = CancelFlag()
        let scheduler = self.scheduler, metrics = self.metrics
        let events = slot.run(job, cancel: cancel) { result in
            // Every generation is counted here, also one whose client went away mid-stream.
            if let result { metrics.generation(result) }
            Task {
                await scheduler.release(slot)
                metrics.scheduler(queueDepth: await scheduler.queueDepth, busySlots: await scheduler.busySlots)
            }
        }
        let id = (job.kind == .chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let created = Int(Date().timeIntervalSince1970)
        if job.stream {
            return streamResponse(job, events: events, cancel: cancel, id: id, created: created, arrived: arrived)
        }
        var text = ""
        var firstText = true
        let result: GenerationResult? = try await withTaskCancellationHandler {
            do {
                for try await event in events {
                    switch event {
                    case .text(let piece):
                        if firstText { metrics.firstToken(after: elapsed(since: arrived)); firstText = false }
                        text += piece
                    case .finished(let r):
                        return r
                    }
                }
                return nil
            } catch let e as APIError {
                throw e
            } catch let e as EngineError {
                throw APIError.invalid("\(e)")
            } catch {
                throw APIError.internalError("generation failed: \(error)")
            }
        } onCancel: {
            cancel.set()
        }
        guard let result else { throw APIError.internalError("generation ended without a result") }
        if firstText { metrics.firstToken(after: elapsed(since: arrived)) }
        let usage = Usage(prompt: result.stats.promptTokens, completion: result.stats.generatedTokens)
        let finish = finishReason(result.stopReason)
        switch job.kind {
        case .completion:
            return try json(CompletionResponse(id: id, object: "text_completion", created: created, model: configuration.modelName,
                                               choices: [CompletionChoice(index: 0, text: result.text, finishReason: finish)],
                                               usage: usage, timings: timings(result)))
        case .chat:
            return try json(ChatCompletionResponse(
                id: id, object: "chat.completion", created: created, model: configuration.modelName,
                choices: [ChatChoice(index: 0, message: ChatResponseMessage(role: "assistant", content: result.text), finishReason: finish)],
                usage: usage, timings: timings(result)))
        }
    }

    /// Server-sent events in OpenAI's chunk format, ending in `data: [DONE]`. A client that goes away
    /// makes a write fail: the generation is cancelled and the slot freed within one step.
    private func streamResponse(_ job: GenerationJob, events: AsyncThrowingStream<SlotEvent, Error>, cancel: CancelFlag,
                                id: String, created: Int, arrived: DispatchTime) -> Response {
        let model = configuration.modelName, metrics = self.metrics
        let sse = StreamChunks(kind: job.kind, id: id, created: created, model: model)
        let event = sse.event, chunk = sse.chunk
        let body = ResponseBody { writer in
            var firstText = true
            var result: GenerationResult?
            do {
                if job.kind == .chat { try await writer.write(try chunk("", nil, true)) }
                // Errors of the generation end the stream with an error event; errors of the writer (the
                // client went away) leave through the outer catch, which cancels the generation.
                var iterator = events.makeAsyncIterator()
                var failure: Error?
                while true {
                    let next: SlotEvent?
                    do { next = try await iterator.next() } catch { failure = error; break }
                    guard let e = next else { break }
                    switch e {
                    case .text(let piece):
                        if firstText { metrics.firstToken(after: elapsed(since: arrived)); firstText = false }
                        try await writer.write(try chunk(piece, nil, false))
                    case .finished(let r):
                        result = r
                    }
                }
                if let failure {
                    let api = (failure as? APIError) ?? (failure as? EngineError).map { APIError.invalid("\($0)") }
                        ?? .internalError("generation failed: \(failure)")
                    try await writer.write(try event(ErrorBody(error: .init(message: api.message, type: api.type, param: api.param,
                                                                            code: api.code))))
                }
                if let result {
                    if firstText { metrics.firstToken(after: elapsed(since: arrived)) }
                    try await writer.write(try chunk(job.kind == .chat ? nil : "", self.finishReason(result.stopReason), false))
                    if job.includeUsage {
                        let usage = Usage(prompt: result.stats.promptTokens, completion: result.stats.generatedTokens)
                        switch job.kind {
                        case .completion:
                            try await writer.write(try event(CompletionResponse(id: id, object: "text_completion", created: created, model: model, choices: [],
                                                                                usage: usage, timings: self.timings(result))))
                        case .chat:
                            try await writer.write(try event(ChatCompletionChunk(id: id, object: "chat.completion.chunk", created: created, model: model, choices: [],
                                                                                 usage: usage, timings: self.timings(result))))
                        }
                    }
                }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
            } catch {
                cancel.set()
                throw error
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    private func finishReason(_ reason: StopReason) -> String {
        switch reason {
        case .maxTokens, .contextFull: return "length"
        case .endOfSequence, .stopString, .cancelled: return "stop"
        }
    }

    private func timings(_ r: GenerationResult) -> Timings {
        Timings(promptTokens: r.stats.promptTokens, prefillSeconds: r.stats.prefillSeconds, generatedTokens: r.stats.generatedTokens,
                decodeSeconds: r.stats.decodeSeconds, tokensPerSecond: r.stats.tokensPerSecond,
                draftSteps: r.speculation?.draftSteps, drafted: r.speculation?.drafted, accepted: r.speculation?.accepted,
                meanAccepted: r.speculation?.meanAccepted, llmTokenShare: r.routing?.llmTokenShare)
    }
}

func elapsed(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

/// Encodes the server-sent events of one streamed response.
struct StreamChunks: Sendable {
    let kind: GenerationJob.Kind
    let id: String
    let created: Int
    let model: String
    /// One encoder for the whole stream (not one per token).
    let encoder = APICoding.encoder()

    /// `data: JSON` and a blank line.
    @Sendable func event(_ value: any Encodable & Sendable) throws -> ByteBuffer {
        var b = ByteBuffer(string: "data: ")
        b.writeBytes(try encoder.encode(value))
        b.writeString("\n\n")
        return b
    }

    /// A chunk with `text` (chat: the delta's content, with the role in the first chunk) and a finish reason.
    @Sendable func chunk(_ text: String?, _ finish: String?, _ role: Bool) throws -> ByteBuffer {
        switch kind {
        case .completion:
            return try event(CompletionResponse(id: id, object: "text_completion", created: created, model: model,
                                                choices: [CompletionChoice(index: 0, text: text ?? "", finishReason: finish)]))
        case .chat:
            let delta = ChatDelta(role: role ? "assistant" : nil, content: text)
            return try event(ChatCompletionChunk(id: id, object: "chat.completion.chunk", created: created, model: model,
                                                 choices: [ChatChunkChoice(index: 0, delta: delta, finishReason: finish)]))
        }
    }
}
