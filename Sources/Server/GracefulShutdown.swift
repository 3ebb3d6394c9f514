import Hummingbird
import Logging
import ServiceLifecycle

/// Drains a ``SlotScheduler`` when graceful shutdown begins: queued requests are refused at once
/// (503, "the server is shutting down") instead of waiting for a slot, and no new request starts;
/// running generations go on.
public struct DrainOnShutdown: Service {
    public let scheduler: SlotScheduler

    public init(scheduler: SlotScheduler) { self.scheduler = scheduler }

    /// Waits for graceful shutdown (or cancellation), then drains.
    public func run() async throws {
        try? await gracefulShutdown()
        await scheduler.drain()
    }
}

extension SpecDecServer {
    /// Runs `app` until SIGINT or SIGTERM. On the signal the queue is drained first
    /// (``DrainOnShutdown``: services shut down in reverse order), then the HTTP server stops
    /// accepting connections and lets the running requests finish; streams end with their last chunk
    /// and `data: [DONE]`.
    ///
    /// ```swift
    /// let app = Application(router: server.router(), configuration: .init(address: .hostname("127.0.0.1", port: 8080)))
    /// try await server.run(app, logger: logger)
    /// ```
    public func run(_ app: some ApplicationProtocol, logger: Logger) async throws {
        let group = ServiceGroup(configuration: .init(
            services: [app, DrainOnShutdown(scheduler: scheduler)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
