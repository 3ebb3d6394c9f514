import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import SpecDecEngine
@testable import SpecDecServer
import SpecDecTestSupport
import XCTest

/// The HTTP server, in process: every endpoint, streaming, per-request speculation, and every error
/// path, on a tiny random-weight model written as a GGUF file.
final class ServerTests: XCTestCase {
    static func tiny(seed: UInt64 = 1, context: Int = 256) throws -> LoadedModel {
        var spec = TinyModel.Spec(architecture: "qwen2")
        spec.weightScale = 4
        spec.seed = seed
        spec.context = context
        return try LoadedModel(path: try TinyModel.write(spec), name: "tiny", contextLength: context, threads: 2)
    }

    private func server(_ edit: (inout ServerConfiguration) -> Void = { _ in }, draft: Bool = true) throws -> SpecDecServer {
        var config = ServerConfiguration(modelName: "tiny")
        config.defaultMaxTokens = 16
        edit(&config)
        return try SpecDecServer(configuration: config, target: try Self.tiny(), draft: draft ? try Self.tiny(seed: 9) : nil)
    }

    // MARK: - Routes

    func testHealthModelsAndOpenAPIDocument() async throws {
        let s = try server()
        let app = Application(router: s.router())
        try await app.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let h = try decode(HealthStatus.self, r)
                XCTAssertEqual(h, HealthStatus(status: "ok", slotsIdle: 1, slotsBusy: 0, queueDepth: 0))
                XCTAssertTrue(String(buffer: r.body).contains("\"slots_idle\""), "snake_case keys on the wire")
            }
            try await client.execute(uri: "/v1/models", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let list = try decode(ModelList.self, r)
                XCTAssertEqual(list.data.map(\.id), ["tiny"])
                XCTAssertTrue(String(buffer: r.body).contains("\"owned_by\":\"specdec\""))
            }
            try await client.execute(uri: "/openapi.json", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let doc = try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any]
                let paths = (doc?["paths"] as? [String: Any]).map { Set($0.keys) } ?? []
                XCTAssertEqual(paths, ["/health", "/metrics", "/openapi.json", "/v1/models", "/v1/completions", "/v1/chat/completions"])
            }
        }
    }

    func testGreedyChatEqualsTheEngineAndSpeculationChangesNothing() async throws {
        let s = try server()
        let reference = try Self.tiny()
        let prompt = reference.promptTokens("hello there", chat: true)
        var options = GenerationOptions(maxTokens: 20)
        options.stopAtEndOfTurn = true
        let plain = try Generator(model: reference).generate(prompt: prompt, options: options)
        let app = Application(router: s.router())
        try await app.test(.router) { client in
            for speculative in ["", #","speculative":{"drafter":"lookup"}"#, #","speculative":{"drafter":"model","draft_max":3}"#,
                                #","speculative":{"drafter":"suffix","draft_max":"auto","verifier":"greedy"}"#] {
                let body = #"{"model":"tiny","messages":[{"role":"user","content":"hello there"}],"max_tokens":20"# + speculative + "}"
                try await post(client, "/v1/chat/completions", body) { r in
                    XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                    let c = try decode(ChatCompletionResponse.self, r)
                    XCTAssertEqual(c.object, "chat.completion")
                    XCTAssertEqual(c.choices.first?.message.content, plain.text, speculative)
                    XCTAssertEqual(c.choices.first?.message.role, "assistant")
                    XCTAssertEqual(c.usage, Usage(prompt: prompt.count, completion: plain.tokens.count))
                    XCTAssertEqual(c.choices.first?.finishReason, plain.stopReason == .maxTokens ? "length" : "stop")
                    XCTAssertEqual(c.timings?.drafted != nil, !speculative.isEmpty, "timings carry drafting counts when speculating")
                }
            }
        }
    }

    func testStreamedCompletionEqualsTheWholeOneAndEndsWithDone() async throws {
        let s = try server()
        let app = Application(router: s.router())
        try await app.test(.router) { client in
            var whole = ""
            try await post(client, "/v1/completions", #"{"prompt":"abc abc abc","max_tokens":24}"#) { r in
                XCTAssertEqual(r.status, .ok)
                let c = try decode(CompletionResponse.self, r)
                XCTAssertEqual(c.object, "text_completion")
                XCTAssertEqual(c.choices.first?.finishReason, "length")
                whole = c.choices.first?.text ?? ""
            }
            XCTAssertFalse(whole.isEmpty)
            let body = #"{"prompt":"abc abc abc","max_tokens":24,"stream":true,"stream_options":{"include_usage":true},"speculative":{"drafter":"lookup"}}"#
            try await post(client, "/v1/completions", body) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(r.headers[.contentType], "text/event-stream")
                let lines = events(r)
                XCTAssertEqual(lines.last, "[DONE]")
                let chunks = try lines.dropLast().map { try APICoding.decoder().decode(CompletionResponse.self, from: Data($0.utf8)) }
                XCTAssertEqual(chunks.compactMap(\.choices.first?.text).joined(), whole)
                XCTAssertEqual(chunks.dropLast().last?.choices.first?.finishReason, "length")
                XCTAssertEqual(chunks.last?.choices, [], "the usage chunk has no choices")
                XCTAssertEqual(chunks.last?.usage?.completionTokens, 24)
                XCTAssertEqual(Set(chunks.map(\.id)).count, 1)
            }
        }
    }

    func testStreamedChatSendsTheRoleFirstAndTheFinishReasonLast() async throws {
        let s = try server()
        let app = Application(router: s.router())
        try await app.test(.router) { client in
            var whole = ""
            let ask = #""messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_tokens":12"#
            try await post(client, "/v1/chat/completions", "{" + ask + "}") { r in
                whole = try decode(ChatCompletionResponse.self, r).choices.first?.message.content ?? ""
            }
            try await post(client, "/v1/chat/completions", "{" + ask + #","stream":true}"#) { r in
                XCTAssertEqual(r.status, .ok)
                let lines = events(r)
                XCTAssertEqual(lines.last, "[DONE]")
                let chunks = try lines.dropLast().map { try APICoding.decoder().decode(ChatCompletionChunk.self, from: Data($0.utf8)) }
                XCTAssertEqual(chunks.first?.choices.first?.delta.role, "assistant")
                XCTAssertEqual(chunks.first?.object, "chat.completion.chunk")
                XCTAssertEqual(chunks.compactMap(\.choices.first?.delta.content).joined(), whole)
                XCTAssertNotNil(chunks.last?.choices.first?.finishReason)
                XCTAssertNil(chunks.last?.usage, "no usage chunk unless stream_options.include_usage")
            }
        }
    }

    func testStopStringsCutTheText() async throws {
        let s = try server()
        let app = Application(router: s.router())
        try await app.test(.router) { client in
            var whole = ""
            try await post(client, "/v1/completions", #"{"prompt":"abc abc abc","max_tokens":24}"#) { r in
                whole = try decode(CompletionResponse.self, r).choices.first?.text ?? ""
            }
            guard whole.count >= 4 else { return XCTFail("too short to cut: '\(whole)'") }
            let cut = String(whole.dropFirst(2).prefix(2))
            let body = #"{"prompt":"abc abc abc","max_tokens":24,"stop":"# + String(decoding: try JSONEncoder().encode(cut), as: UTF8.self) + "}"
            try await post(client, "/v1/completions", body) { r in
                let c = try decode(CompletionResponse.self, r)
                XCTAssertEqual(c.choices.first?.finishReason, "stop")
                let text = c.choices.first?.text ?? ""
                XCTAssertFalse(text.contains(cut))
                XCTAssertTrue(whole.hasPrefix(text + cut))
            }
        }
    }

    // MARK: - Errors

    func testBadRequestsGetOpenAIErrorsAndTheServerKeepsServing() async throws {
        let s = try server({ $0.maxBodyBytes = 2048 }, draft: false)
        let app = Application(router: s.router())
        let long = (0..<300).map { _ in "7" }.joined(separator: ",")
        let cases: [(String, String, HTTPResponse.Status, String?)] = [
            ("/v1/completions", "{not json", .badRequest, nil),
            ("/v1/completions", "[1,2]", .badRequest, nil),
            ("/v1/completions", #"{"max_tokens":4}"#, .badRequest, "prompt"),
            ("/v1/completions", #"{"prompt":"x","temperature":"hot"}"#, .badRequest, "temperature"),
            ("/v1/completions", #"{"prompt":"x","max_tokens":1.5}"#, .badRequest, nil),
            ("/v1/completions", #"{"prompt":"x","temperature":3}"#, .badRequest, "temperature"),
            ("/v1/completions", #"{"prompt":"x","top_p":0}"#, .badRequest, "top_p"),
            ("/v1/completions", #"{"prompt":"x","max_tokens":-1}"#, .badRequest, "max_tokens"),
            ("/v1/completions", #"{"prompt":"x","n":2}"#, .badRequest, "n"),
            ("/v1/completions", #"{"prompt":["a","b"]}"#, .badRequest, "prompt"),
            ("/v1/completions", #"{"prompt":[1, 99999999]}"#, .badRequest, "prompt"),
            ("/v1/completions", #"{"prompt":""}"#, .badRequest, "prompt"),
            ("/v1/completions", #"{"prompt":[\#(long)]}"#, .badRequest, "prompt"),
            ("/v1/completions", #"{"prompt":"x","model":"gpt-4"}"#, .notFound, "model"),
            ("/v1/completions", #"{"prompt":"x","stop":["a","b","c","d","e"]}"#, .badRequest, "stop"),
            ("/v1/completions", #"{"prompt":"x","speculative":{"drafter":"lookup","draft_max":0}}"#, .badRequest, "speculative"),
            ("/v1/completions", #"{"prompt":"x","speculative":{"drafter":"warp"}}"#, .badRequest, "speculative.drafter"),
            ("/v1/completions", #"{"prompt":"x","speculative":{"drafter":"model"}}"#, .badRequest, "speculative.drafter"),
            ("/v1/completions", #"{"prompt":"x","speculative":{"drafter":"lookup","verifier":"maybe"}}"#, .badRequest, "speculative.verifier"),
            ("/v1/completions", #"{"prompt":"x","speculative":{"drafter":"lookup","draft_max":"lots"}}"#, .badRequest, "speculative.draft_max"),
            ("/v1/chat/completions", #"{"messages":[]}"#, .badRequest, "messages"),
            ("/v1/chat/completions", #"{"messages":[{"role":"robot","content":"x"}]}"#, .badRequest, "messages[0].role"),
            ("/v1/chat/completions", #"{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}"#, .badRequest, "messages[0].content"),
            ("/v1/chat/completions", #"{"messages":"hi"}"#, .badRequest, "messages"),
            ("/v1/completions", #"{"prompt":""# + String(repeating: "a", count: 4000) + #""}"#, .contentTooLarge, nil),
        ]
        try await app.test(.router) { client in
            for (uri, body, status, param) in cases {
                try await post(client, uri, body) { r in
                    XCTAssertEqual(r.status, status, body.prefix(80) + " -> " + String(buffer: r.body))
                    let e = try errorBody(r)
                    XCTAssertFalse(e.message.isEmpty)
                    XCTAssertFalse(e.type.isEmpty)
                    if let param { XCTAssertEqual(e.param, param, String(body.prefix(80))) }
                }
            }
            let tooLong = try errorBody(try await client.execute(uri: "/v1/completions", method: .post,
                                                                       body: ByteBuffer(string: #"{"prompt":[\#(long)]}"#)))
            XCTAssertEqual(tooLong.code, "context_length_exceeded")
            try await client.execute(uri: "/v2/whatever", method: .get) { r in
                XCTAssertEqual(r.status, .notFound)
                XCTAssertEqual(try errorBody(r).type, "not_found_error")
            }
            // Still serving after all of that.
            try await post(client, "/v1/completions", #"{"prompt":"x","max_tokens":3}"#) { r in XCTAssertEqual(r.status, .ok) }
        }
    }

    func testAPIKeyGuardsTheV1RoutesOnly() async throws {
        let s = try server({ $0.apiKey = "sekrit" })
        let app = Application(router: s.router())
        try await app.test(.router) { client in
            for auth in [nil, "Bearer wrong", "sekrit", "Bearer sekrit2"] {
                var h = HTTPFields()
                if let auth { h[.authorization] = auth }
                try await client.execute(uri: "/v1/models", method: .get, headers: h) { r in
                    XCTAssertEqual(r.status, .unauthorized, auth ?? "none")
                    XCTAssertEqual(try errorBody(r).type, "authentication_error")
                }
            }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer sekrit"]) { r in
                XCTAssertEqual(r.status, .ok)
            }
            try await post(client, "/v1/completions", #"{"prompt":"x","max_tokens":2}"#, headers: [.authorization: "Bearer sekrit"]) { r in
                XCTAssertEqual(r.status, .ok)
            }
            try await client.execute(uri: "/health", method: .get) { r in XCTAssertEqual(r.status, .ok) }
        }
    }

    // MARK: - Slots, queue, cancellation, metrics

    func testAFullQueueGets429() async throws {
        let s = try server({ $0.queue = 0 })
        let held = try await s.scheduler.acquire()
        let app = Application(router: s.router())
        try await app.test(.router) { client in
            try await post(client, "/v1/completions", #"{"prompt":"x","max_tokens":2}"#) { r in
                XCTAssertEqual(r.status, .tooManyRequests)
                XCTAssertEqual(try errorBody(r).code, "queue_full")
            }
            await s.scheduler.release(held)
            try await post(client, "/v1/completions", #"{"prompt":"x","max_tokens":2}"#) { r in XCTAssertEqual(r.status, .ok) }
        }
    }

    func testQueuedRequestsWaitForASlotInOrderAndCancelledWaitersLeave() async throws {
        let s = try server({ $0.queue = 2 })
        let held = try await s.scheduler.acquire()
        let first = Task { try await s.scheduler.acquire() }
        while await s.scheduler.queueDepth < 1 { await Task.yield() }
        let second = Task { try await s.scheduler.acquire() }
        while await s.scheduler.queueDepth < 2 { await Task.yield() }
        do {
            _ = try await s.scheduler.acquire()
            XCTFail("a third waiter should be refused")
        } catch let e as APIError {
            XCTAssertEqual(e.status, .tooManyRequests)
        }
        second.cancel()
        while await s.scheduler.queueDepth > 1 { await Task.yield() }
        await s.scheduler.release(held)
        let got = try await first.value
        XCTAssertEqual(got.index, held.index)
        do {
            _ = try await second.value
            XCTFail("the cancelled waiter should not get a slot")
        } catch {}
        let busyNow = await s.scheduler.busySlots
        XCTAssertEqual(busyNow, 1)
        await s.scheduler.release(got)
        let busyAfter = await s.scheduler.busySlots
        XCTAssertEqual(busyAfter, 0)
    }

    func testGracefulShutdownRefusesQueuedRequestsAndLetsRunningOnesFinish() async throws {
        let s = try server({ $0.queue = 2 })
        let held = try await s.scheduler.acquire()
        let queued = Task { try await s.scheduler.acquire() }
        while await s.scheduler.queueDepth < 1 { await Task.yield() }
        let group = ServiceGroup(configuration: .init(services: [DrainOnShutdown(scheduler: s.scheduler)],
                                                      logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        await group.triggerGracefulShutdown()
        do {
            _ = try await queued.value
            XCTFail("a queued request should be refused when shutdown begins")
        } catch let e as APIError {
            XCTAssertEqual(e, .shuttingDown)
        }
        try await running.value
        // The running request keeps its slot until it ends; nothing new starts.
        let busy = await s.scheduler.busySlots
        XCTAssertEqual(busy, 1)
        await s.scheduler.release(held)
        do {
            _ = try await s.scheduler.acquire()
            XCTFail("no request starts after shutdown began")
        } catch let e as APIError {
            XCTAssertEqual(e, .shuttingDown)
        }
    }

    func testACancelledGenerationStopsAndFreesItsSlot() async throws {
        let s = try server({ $0.defaultMaxTokens = 200 })
        let slot = try await s.scheduler.acquire()
        var options = GenerationOptions(maxTokens: 200)
        options.stopAtEndOfTurn = false
        let job = GenerationJob(kind: .completion, prompt: [10, 20, 30], options: options, session: .speculative(SpeculativeFields(drafter: "lookup")),
                                stream: true, includeUsage: false)
        let cancel = CancelFlag()
        let finished = expectation(description: "slot finished")
        // The flag is set as the fourth piece comes (on the slot's thread): a consumer setting it
        // after reading three pieces races a tiny model's 200 tokens (about 10 ms).
        slot.beforePiece = { if $0 == 3 { cancel.set() } }
        defer { slot.beforePiece = nil }
        let events = slot.run(job, cancel: cancel) { _ in finished.fulfill() }
        var pieces = 0
        var result: GenerationResult?
        for try await e in events {
            switch e {
            case .text: pieces += 1
            case .finished(let r): result = r
            }
        }
        XCTAssertEqual(pieces, 3, "no piece is sent once the flag is set")
        await fulfillment(of: [finished], timeout: 10)
        XCTAssertEqual(result?.stopReason, .cancelled)
        XCTAssertLessThan(result?.tokens.count ?? 999, 200)
        // The slot serves the next request normally, with the same output as a fresh model.
        await s.scheduler.release(slot)
        let next = try await s.scheduler.acquire()
        var again = GenerationJob(kind: .completion, prompt: [10, 20, 30], options: options, session: .plain, stream: false, includeUsage: false)
        again.options.maxTokens = 12
        var text = ""
        for try await e in next.run(again, cancel: CancelFlag(), onFinish: { _ in }) { if case .finished(let r) = e { text = r.text } }
        var plainOptions = options
        plainOptions.maxTokens = 12
        XCTAssertEqual(text, try Generator(model: try Self.tiny()).generate(prompt: [10, 20, 30], options: plainOptions).text)
        await s.scheduler.release(next)
    }

    func testTwoSlotsRunAtOnceWithTheirOwnCaches() async throws {
        let s = try server({ $0.parallel = 2 })
        XCTAssertEqual(s.scheduler.slots.count, 2)
        let reference = try Self.tiny()
        let prompts = ["abc abc", "xyz xyz xyz", "hello", "abc abc"]
        var o = GenerationOptions(maxTokens: 16)
        o.stopAtEndOfTurn = true
        let expected = try prompts.map { try Generator(model: reference).generate(prompt: reference.tokenizer.encode($0), options: o).text }
        let app = Application(router: s.router())
        try await app.test(.router) { client in
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for (i, p) in prompts.enumerated() {
                    group.addTask {
                        let body = #"{"prompt":"\#(p)","max_tokens":16,"speculative":{"drafter":"lookup"}}"#
                        let r = try await client.execute(uri: "/v1/completions", method: .post, body: ByteBuffer(string: body))
                        XCTAssertEqual(r.status, .ok)
                        return (i, try decode(CompletionResponse.self, r).choices.first?.text ?? "")
                    }
                }
                for try await (i, text) in group { XCTAssertEqual(text, expected[i], prompts[i]) }
            }
        }
        try await waitIdle(s)
        let busy = await s.scheduler.busySlots
        XCTAssertEqual(busy, 0, "no slot leaked")
    }

    func testMetricsCountRequestsTokensAndDrafting() async throws {
        let s = try server()
        let app = Application(router: s.router())
        try await app.test(.router) { client in
            try await post(client, "/v1/completions", #"{"prompt":"abc abc abc abc","max_tokens":8,"speculative":{"drafter":"lookup"}}"#) { _ in }
            try await post(client, "/v1/completions", "{bad") { _ in }
            try await waitIdle(s)
            try await client.execute(uri: "/metrics", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                let text = String(buffer: r.body)
                XCTAssertTrue(text.contains(#"specdec_requests_total{endpoint="/v1/completions",status="200"} 1"#), text)
                XCTAssertTrue(text.contains(#"specdec_requests_total{endpoint="/v1/completions",status="400"} 1"#), text)
                XCTAssertTrue(text.contains("specdec_generated_tokens_total 8"), text)
                XCTAssertTrue(text.contains("specdec_drafted_tokens_total"), text)
                XCTAssertTrue(text.contains("specdec_time_to_first_token_seconds_bucket"), text)
                XCTAssertTrue(text.contains("specdec_tokens_per_second_bucket"), text)
                XCTAssertTrue(text.contains("specdec_queue_depth 0"), text)
            }
        }
    }

    func testSlotsShareWeightsWithTheFirstModel() throws {
        let model = try Self.tiny()
        let twin = try LoadedModel(sharingWeightsOf: model, threads: 1)
        let prompt: [Int32] = [3, 4, 5, 6]
        var o = GenerationOptions(maxTokens: 10)
        o.stopAtEndOfTurn = false
        let a = try Generator(model: model).generate(prompt: prompt, options: o)
        let b = try Generator(model: twin).generate(prompt: prompt, options: o)
        XCTAssertEqual(a.tokens, b.tokens)
        XCTAssertEqual(model.transformer.position, twin.transformer.position)
        twin.transformer.reset()
        XCTAssertNotEqual(model.transformer.position, 0, "resetting one slot's cache leaves the other's")
    }
}

// Helpers (free functions: the test client's closures are @Sendable).

func post(_ client: some TestClientProtocol, _ uri: String, _ json: String, headers: HTTPFields = [:],
          _ check: (TestResponse) throws -> Void) async throws {
    var h = headers
    h[.contentType] = "application/json"
    let response = try await client.execute(uri: uri, method: .post, headers: h, body: ByteBuffer(string: json))
    try check(response)
}

func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
    try APICoding.decoder().decode(T.self, from: Data(response.body.readableBytesView))
}

func errorBody(_ response: TestResponse) throws -> ErrorBody.Detail {
    try decode(ErrorBody.self, response).error
}

/// The data lines of an event stream, in order.
func events(_ response: TestResponse) -> [String] {
    String(buffer: response.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map {
        $0.hasPrefix("data: ") ? String($0.dropFirst(6)) : "BAD:" + $0
    }
}


/// Waits (up to a second) until every slot is back: slots are handed back, and their generation
/// counted in the metrics, by the generating thread just after the last event.
func waitIdle(_ s: SpecDecServer) async throws {
    for _ in 0..<200 where await s.scheduler.busySlots > 0 {
        try await Task.sleep(nanoseconds: 5_000_000)
    }
}
