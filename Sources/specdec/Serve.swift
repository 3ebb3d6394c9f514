import ArgumentParser
import Foundation
import Hummingbird
import Logging
import SpecDecEngine
import SpecDecServer

/// `specdec serve`: the OpenAI-compatible HTTP server.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the model over an OpenAI-compatible HTTP API (completions, chat completions, streaming).",
        discussion: """
            Endpoints: GET /v1/models, POST /v1/completions, POST /v1/chat/completions (stream: true for \
            server-sent events), GET /health, GET /metrics (Prometheus), GET /openapi.json. Requests may carry \
            per-request speculation settings in an extra body field "speculative" ({"drafter": "lookup", \
            "draft_max": 8, "verifier": "greedy", ...}). SIGINT/SIGTERM stop it gracefully.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var speculation: SpeculationCLIOptions

    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port, printed at start).") var port: Int = 8080
    @Option(help: "Slots: requests generated at the same time, each with its own KV caches.") var parallel: Int = 1
    @Option(help: "Requests that may wait for a slot; one more gets 429.") var queue: Int = 16
    @Option(name: .customLong("api-key"), help: "Require 'Authorization: Bearer KEY' on /v1/* (401 otherwise).") var apiKey: String?
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body (413 above it).") var maxBodyBytes: Int = 1 << 20
    @Option(name: .customLong("max-tokens"), help: "Tokens generated when a request gives no max_tokens.") var maxTokens: Int = 256
    @Option(name: .customLong("model-alias"), help: "The model id clients see (default: the model's name).") var alias: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard parallel >= 1 else { throw ValidationError("--parallel must be >= 1") }
        guard queue >= 0 else { throw ValidationError("--queue must be >= 0") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be >= 1024") }
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be >= 0") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        if let apiKey, apiKey.isEmpty { throw ValidationError("--api-key must not be empty") }
    }

    func run() async throws {
        try checkKernels(noticePortable: true)
        var logger = Logger(label: "specdec.serve")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let server: SpecDecServer
        do {
            let cores = ProcessInfo.processInfo.activeProcessorCount
            // Slots share the cores: each gets its part unless --threads says otherwise.
            let threads = modelOptions.threads ?? max(1, cores / parallel)
            let model = try LoadedModel(modelOptions.model, contextLength: modelOptions.context, threads: threads)
            let draft = try speculation.loadDraft(context: modelOptions.context, threads: threads)
            var config = ServerConfiguration(modelName: alias ?? model.name)
            config.parallel = parallel
            config.queue = queue
            config.apiKey = apiKey
            config.maxBodyBytes = maxBodyBytes
            config.defaultMaxTokens = maxTokens
            config.speculation = try speculation.parsedOptions()
            config.speculativeByDefault = speculation.isSpeculative
            config.router = try speculation.routerPolicy()
            config.created = Int(Date().timeIntervalSince1970)
            server = try SpecDecServer(configuration: config, target: model, draft: draft, threadsPerSlot: threads)
        } catch let e as ValidationError {
            note("error: \(e.message)")
            throw ExitCode.failure
        } catch {
            note("error: \(error)")
            throw ExitCode.failure
        }
        let app = Application(
            router: server.router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "specdec"),
            onServerRunning: { channel in
                note("specdec serve: listening on http://\(channel.localAddress?.description ?? "\(host):\(port)") "
                    + "(model \(server.configuration.modelName), \(server.configuration.parallel) slot(s))")
            },
            logger: logger)
        try await server.run(app, logger: logger)
    }
}
