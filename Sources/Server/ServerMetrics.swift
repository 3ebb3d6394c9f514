import CoreMetrics
import Foundation
import Metrics
import Prometheus
import SpecDecEngine

/// The server's metrics, recorded through swift-metrics into a Prometheus registry of the server's own
/// (no global bootstrap, so several servers, or tests, in one process keep theirs apart), served as
/// Prometheus text at `GET /metrics`.
public final class ServerMetrics: @unchecked Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let lock = NSLock()
    private var requestCounters: [String: CoreMetrics.Counter] = [:]
    fileprivate var acceptedByPosition: [Int: CoreMetrics.Counter] = [:]
    fileprivate var draftedByPosition: [Int: CoreMetrics.Counter] = [:]
    private let promptTokens: CoreMetrics.Counter
    private let generatedTokens: CoreMetrics.Counter
    private let drafted: CoreMetrics.Counter
    private let accepted: CoreMetrics.Counter
    private let cancelled: CoreMetrics.Counter
    private let timeToFirstToken: CoreMetrics.Timer
    private let tokensPerSecond: CoreMetrics.Recorder
    private let queueDepth: CoreMetrics.Gauge
    private let busySlots: CoreMetrics.Gauge

    public init() {
        registry = PrometheusCollectorRegistry()
        var f = PrometheusMetricsFactory(registry: registry)
        f.durationHistogramBuckets["specdec_time_to_first_token_seconds"] = [
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
        ]
        f.valueHistogramBuckets["specdec_tokens_per_second"] = [1, 2, 5, 10, 15, 20, 30, 40, 60, 80, 120, 200]
        factory = f
        promptTokens = CoreMetrics.Counter(label: "specdec_prompt_tokens_total", factory: f)
        generatedTokens = CoreMetrics.Counter(label: "specdec_generated_tokens_total", factory: f)
        drafted = CoreMetrics.Counter(label: "specdec_drafted_tokens_total", factory: f)
        accepted = CoreMetrics.Counter(label: "specdec_accepted_tokens_total", factory: f)
        cancelled = CoreMetrics.Counter(label: "specdec_cancelled_requests_total", factory: f)
        timeToFirstToken = CoreMetrics.Timer(label: "specdec_time_to_first_token_seconds", dimensions: [], factory: f)
        tokensPerSecond = CoreMetrics.Recorder(label: "specdec_tokens_per_second", dimensions: [], aggregate: true, factory: f)
        queueDepth = CoreMetrics.Gauge(label: "specdec_queue_depth", factory: f)
        busySlots = CoreMetrics.Gauge(label: "specdec_busy_slots", factory: f)
        queueDepth.record(0)
        busySlots.record(0)
    }

    /// Counts a finished request by endpoint and HTTP status.
    public func request(endpoint: String, status: Int) {
        let key = "\(endpoint) \(status)"
        let counter: CoreMetrics.Counter = lock.withLock {
            if let c = requestCounters[key] { return c }
            let c = CoreMetrics.Counter(label: "specdec_requests_total", dimensions: [("endpoint", endpoint), ("status", String(status))],
                            factory: factory)
            requestCounters[key] = c
            return c
        }
        counter.increment()
    }

    /// Records one generation's token counts, speed and drafting figures.
    public func generation(_ result: GenerationResult) {
        promptTokens.increment(by: Int64(result.stats.promptTokens))
        generatedTokens.increment(by: Int64(result.stats.generatedTokens))
        if result.stats.generatedTokens > 0 && result.stats.decodeSeconds > 0 {
            tokensPerSecond.record(result.stats.tokensPerSecond)
        }
        if result.stopReason == .cancelled { cancelled.increment() }
        guard let s = result.speculation else { return }
        drafted.increment(by: Int64(s.drafted))
        accepted.increment(by: Int64(s.accepted))
        for (i, n) in s.draftedByPosition.enumerated() where n > 0 {
            position(i, in: \ServerMetrics.draftedByPosition, label: "specdec_drafted_by_position_total").increment(by: Int64(n))
        }
        for (i, n) in s.acceptedByPosition.enumerated() where n > 0 {
            position(i, in: \ServerMetrics.acceptedByPosition, label: "specdec_accepted_by_position_total").increment(by: Int64(n))
        }
    }

    /// Records the time from a request's arrival to its first text.
    public func firstToken(after seconds: Double) {
        timeToFirstToken.recordNanoseconds(Int64(seconds * 1e9))
    }

    /// Records the scheduler's state.
    public func scheduler(queueDepth depth: Int, busySlots busy: Int) {
        queueDepth.record(depth)
        busySlots.record(busy)
    }

    /// Every metric as Prometheus text.
    public func prometheusText() -> String { registry.emitToString() }

    private func position(_ i: Int, in table: ReferenceWritableKeyPath<ServerMetrics, [Int: CoreMetrics.Counter]>, label: String) -> CoreMetrics.Counter {
        lock.withLock {
            if let c = self[keyPath: table][i] { return c }
            // Draft positions are 1-based in the metric (position 1: the first drafted token).
            let c = CoreMetrics.Counter(label: label, dimensions: [("position", String(i + 1))], factory: factory)
            self[keyPath: table][i] = c
            return c
        }
    }
}
