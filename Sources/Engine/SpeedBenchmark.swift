import Foundation
import SpecDecModel
import SpecDecKernels
#if canImport(Glibc)
import Glibc
#endif

/// Results of ``SpeedBenchmark``, encoded as `specdec speed --format json` prints them.
public struct SpeedReport: Sendable, Encodable {
    /// Wall time of one forward over `size` new tokens (logits for every position) at context 256.
    public struct BatchTiming: Sendable, Codable {
        public var size: Int
        public var seconds: Double
        /// seconds / seconds at size 1
        public var ratio: Double
    }

    public var model: String
    public var threads: Int
    /// The kernel set that ran (``KernelSet/active``) and the CPU's model name.
    public var kernels: String = KernelSet.active.rawValue
    public var cpu: String = CPUInfo.modelName
    public var decodeTokensPerSecond: Double
    public var prefillTokensPerSecond: Double
    public var batch: [BatchTiming]
    public var peakRSSBytes: Int
    public var modelFileBytes: Int
    /// Bytes of weight matrices read per decoded token (``Transformer/matrixBytesPerToken``).
    public private(set) var matrixBytesPerToken = 0
    /// Memory read bandwidth measured by ``MemoryBandwidthProbe`` in this run, GB/s: the median of the
    /// probes taken before the decode phase, before the batched forwards and at the end (0 when skipped).
    public private(set) var memoryBandwidthGBps: Double = 0
    /// Each probe's figure, in the order taken.
    public private(set) var memoryBandwidthProbesGBps: [Double] = []
    /// Bandwidth decoding used: matrix bytes per token x decode tokens/s, GB/s.
    public private(set) var decodeGBps: Double = 0
    /// decodeGBps as a fraction of the measured bandwidth (0 when it was not measured).
    public private(set) var decodeBandwidthFraction: Double = 0

    /// Where the time of a batched forward goes (`--breakdown`): per batch size, the median seconds of
    /// each ``ForwardProfile/Part`` over profiled repetitions run after the timed ones.
    public struct BatchBreakdown: Sendable, Codable {
        public var size: Int
        /// Seconds by part name (``ForwardProfile/Part/description``).
        public var parts: [String: Double]
    }
    public var breakdown: [BatchBreakdown]?
    /// Decode with the drafting configuration (`--draft-vocab`, `--skip`), timed interleaved with
    /// the plain decode: tokens/s and c, the drafted token's cost relative to a full decode step.
    public var draftDecodeTokensPerSecond: Double?
    public var draftCost: Double?
    /// What the drafting configuration was: trimmed-head size and skipped sublayers.
    public var draftVocabulary: Int?
    public var draftSkippedSublayers: Int?

    public init(model: String, threads: Int, decodeTokensPerSecond: Double, prefillTokensPerSecond: Double,
                batch: [BatchTiming], peakRSSBytes: Int, modelFileBytes: Int) {
        self.model = model
        self.threads = threads
        self.decodeTokensPerSecond = decodeTokensPerSecond
        self.prefillTokensPerSecond = prefillTokensPerSecond
        self.batch = batch
        self.peakRSSBytes = peakRSSBytes
        self.modelFileBytes = modelFileBytes
    }

    /// Records the weight bytes a decoded token reads and the bandwidth probes' figures, and derives
    /// the bandwidth decoding used and its fraction of the probes' median.
    public mutating func setBandwidth(matrixBytesPerToken bytes: Int, probes: [Double]) {
        matrixBytesPerToken = bytes
        memoryBandwidthProbesGBps = probes
        memoryBandwidthGBps = median(probes)
        decodeGBps = Double(bytes) * decodeTokensPerSecond / 1e9
        decodeBandwidthFraction = memoryBandwidthGBps > 0 ? decodeGBps / memoryBandwidthGBps : 0
    }

    enum CodingKeys: String, CodingKey {
        case model, threads, batch, kernels, cpu
        case decodeTokensPerSecond = "decode_tokens_per_second"
        case prefillTokensPerSecond = "prefill_tokens_per_second"
        case peakRSSBytes = "peak_rss_bytes"
        case modelFileBytes = "model_file_bytes"
        case matrixBytesPerToken = "matrix_bytes_per_token"
        case memoryBandwidthGBps = "memory_bandwidth_gb_per_second"
        case memoryBandwidthProbesGBps = "memory_bandwidth_probes_gb_per_second"
        case decodeGBps = "decode_gb_per_second"
        case decodeBandwidthFraction = "decode_bandwidth_fraction"
        case breakdown
        case draftDecodeTokensPerSecond = "draft_decode_tokens_per_second", draftCost = "draft_cost"
        case draftVocabulary = "draft_vocab", draftSkippedSublayers = "draft_skipped_sublayers"
    }

    /// A markdown table of the report.
    public var markdown: String {
        var s = "CPU: \(cpu); kernels: \(kernels)\n\n"
        s += "| model | threads | decode tok/s | prefill tok/s | peak RSS MiB |\n|---|---|---|---|---|\n"
        s += String(format: "| %@ | %d | %.1f | %.1f | %.0f |\n\n", model, threads, decodeTokensPerSecond,
                    prefillTokensPerSecond, Double(peakRSSBytes) / 1_048_576)
        if memoryBandwidthGBps > 0 {
            s += "| probe GB/s (median; each) | decode GB/s (matrix bytes x tok/s) | decode / probe |\n|---|---|---|\n"
            s += String(format: "| %.1f (%@) | %.1f | %.0f%% |\n\n", memoryBandwidthGBps,
                        memoryBandwidthProbesGBps.map { String(format: "%.1f", $0) }.joined(separator: ", "),
                        decodeGBps, 100 * decodeBandwidthFraction)
        }
        if let draftDecodeTokensPerSecond, let draftCost {
            s += "| draft decode (vocab \(draftVocabulary.map(String.init) ?? "full"), \(draftSkippedSublayers ?? 0) sublayers skipped) tok/s | draft cost c |\n|---|---|\n"
            s += String(format: "| %.1f | %.3f |\n\n", draftDecodeTokensPerSecond, draftCost)
        }
        s += "| batch B | forward ms | ratio to B=1 |\n|---|---|---|\n"
        for b in batch { s += String(format: "| %d | %.1f | %.2f |\n", b.size, b.seconds * 1000, b.ratio) }
        if let breakdown, !breakdown.isEmpty {
            s += "\n| part (ms, median of profiled forwards) |" + breakdown.map { " B=\($0.size) |" }.joined() + "\n"
            s += "|---|" + breakdown.map { _ in "---|" }.joined() + "\n"
            for part in ForwardProfile.Part.allCases {
                s += "| \(part) |" + breakdown.map { String(format: " %.2f |", ($0.parts[part.description] ?? 0) * 1000) }.joined() + "\n"
            }
        }
        return s
    }
}

/// A llama-bench-style measurement of one model: decode, prefill, and batched forward cost.
/// Every figure is the median of `repetitions` runs after a warm-up.
public struct SpeedBenchmark: Sendable {
    public var decodeTokens = 128
    public var prefillTokens = 512
    public var batchSizes = [1, 2, 4, 8, 16, 32]
    public var batchContext = 256
    public var repetitions = 5
    /// The bandwidth probe run three times during the benchmark (`bytes` 0 skips it).
    public var bandwidthProbe = MemoryBandwidthProbe()
    /// Also time the batched forwards by part (``ForwardProfile``), in extra repetitions after the timed
    /// ones (so that the clock reads do not touch the main figures).
    public var breakdown = false
    /// A drafting configuration to time beside plain decode (a trimmed head, a skip set): its
    /// per-token cost c relative to a full decode step, the figure the speculation arithmetic needs.
    public var draftHead: TrimmedHead?
    public var draftSkip: LayerSkip?

    public init() {}

    /// Runs the benchmark on `model` (its cache is reset). `progress` receives a line per phase.
    public func run(_ model: LoadedModel, progress: (String) -> Void = { _ in }) throws -> SpeedReport {
        let tf = model.transformer
        let vocab = tf.config.vocabularySize
        var rng = SplitMix64(seed: 42)
        func randomTokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32.random(in: 100..<Int32(min(vocab, 30_000)), using: &rng) } }
        let needed = max(prefillTokens, batchContext + (batchSizes.max() ?? 1), 16 + decodeTokens)
        guard needed <= tf.contextLength else {
            throw EngineError.invalidParameter("the benchmark needs a context of \(needed) tokens; use --context \(needed)")
        }

        var probes: [Double] = []
        // The probe's buffer must not count in the reported peak RSS: the peak is read before each probe
        // and the kernel's high-water mark reset after it (or, where that is refused, the probe skipped).
        var peakBeforeProbes = 0
        func probe() {
            guard bandwidthProbe.bytes > 0 else { return }
            peakBeforeProbes = max(peakBeforeProbes, peakResidentBytes())
            guard resetPeakResidentBytes() else { return }
            progress("memory bandwidth probe: \(bandwidthProbe.bytes >> 20) MiB x \(bandwidthProbe.passes)")
            probes.append(bandwidthProbe.measure(pool: tf.pool))
            _ = resetPeakResidentBytes()
        }
        probe()

        // Decode: a short prompt, then tokens one at a time (greedy). A phase with 0 tokens is skipped.
        progress("decode: \(decodeTokens) tokens x \(repetitions)")
        let prompt = randomTokens(16)
        var decodeTimes: [Double] = []
        var draftTimes: [Double] = []
        let drafting = draftHead != nil || draftSkip != nil
        for rep in 0...repetitions where decodeTokens > 0 {
            tf.reset()
            var logits = try tf.forward(prompt, logits: .last)
            let t0 = DispatchTime.now()
            for _ in 0..<decodeTokens {
                let next = Sampler.argmax(logits[0])
                logits = try tf.forward(token: next, logits: .last)
            }
            if rep > 0 { decodeTimes.append(seconds(since: t0)) }  // rep 0 warms up
            guard drafting else { continue }
            // The same steps through the drafting configuration, right after (interleaved repetitions).
            tf.reset()
            logits = try tf.forward(prompt, logits: .last)
            let t1 = DispatchTime.now()
            for _ in 0..<decodeTokens {
                let index = Int(Sampler.argmax(logits[0]))
                let next = draftHead.map { $0.tokens[min(index, $0.count - 1)] } ?? Int32(index)
                logits = try tf.forward(token: next, logits: .last, skip: draftSkip, head: draftHead)
            }
            if rep > 0 { draftTimes.append(seconds(since: t1)) }
        }

        progress("prefill: \(prefillTokens) tokens x \(repetitions)")
        let long = randomTokens(prefillTokens)
        var prefillTimes: [Double] = []
        for rep in 0...repetitions where prefillTokens > 0 {
            tf.reset()
            let t0 = DispatchTime.now()
            _ = try tf.forward(long, logits: .last)
            if rep > 0 { prefillTimes.append(seconds(since: t0)) }
        }

        probe()
        progress("batched forward at context \(batchContext): B = \(batchSizes.map(String.init).joined(separator: ", "))")
        tf.reset()
        _ = try tf.forward(randomTokens(batchContext), logits: .last)
        // Repetitions are interleaved across batch sizes (B1 B2 ... B1 B2 ...), so that drift in the
        // machine's speed hits every size alike and the ratios stay meaningful; round 0 warms up.
        let batches = batchSizes.map { randomTokens($0) }
        var times = [[Double]](repeating: [], count: batches.count)
        for rep in 0...repetitions {
            for (i, tokens) in batches.enumerated() {
                tf.truncate(to: batchContext)
                let t0 = DispatchTime.now()
                _ = try tf.forward(tokens, logits: .all)
                if rep > 0 { times[i].append(seconds(since: t0)) }
            }
        }
        var profiled = [[ForwardProfile]](repeating: [], count: batches.count)
        if breakdown {
            progress("breakdown: \(repetitions) profiled forwards per batch size")
            for _ in 0..<repetitions {
                for (i, tokens) in batches.enumerated() {
                    tf.truncate(to: batchContext)
                    tf.profile = ForwardProfile()
                    _ = try tf.forward(tokens, logits: .all)
                    if let p = tf.profile { profiled[i].append(p) }
                }
            }
            tf.profile = nil
        }
        var timings: [SpeedReport.BatchTiming] = []
        for (i, b) in batchSizes.enumerated() {
            let m = median(times[i])
            timings.append(.init(size: b, seconds: m, ratio: m / (timings.first?.seconds ?? m)))
        }
        tf.reset()
        probe()
        let size = (try? FileManager.default.attributesOfItem(atPath: model.file.path)[.size] as? Int) ?? 0
        var report = SpeedReport(model: model.name, threads: tf.pool.threadCount,
                                 decodeTokensPerSecond: decodeTimes.isEmpty ? 0 : Double(decodeTokens) / median(decodeTimes),
                                 prefillTokensPerSecond: prefillTimes.isEmpty ? 0 : Double(prefillTokens) / median(prefillTimes),
                                 batch: timings, peakRSSBytes: max(peakBeforeProbes, peakResidentBytes()),
                                 modelFileBytes: size)
        report.setBandwidth(matrixBytesPerToken: tf.matrixBytesPerToken, probes: probes)
        if drafting, !draftTimes.isEmpty, !decodeTimes.isEmpty {
            report.draftDecodeTokensPerSecond = Double(decodeTokens) / median(draftTimes)
            report.draftCost = median(draftTimes) / median(decodeTimes)
            report.draftVocabulary = draftHead?.count
            report.draftSkippedSublayers = draftSkip?.count ?? 0
        }
        if breakdown {
            report.breakdown = batchSizes.enumerated().map { i, b in
                var parts: [String: Double] = [:]
                for part in ForwardProfile.Part.allCases { parts[part.description] = median(profiled[i].map { $0[part] }) }
                return SpeedReport.BatchBreakdown(size: b, parts: parts)
            }
        }
        return report
    }
}

/// The median of `xs` (0 for none).
func median(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return 0 }
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Resets this process's peak resident set size (VmHWM) to its current size (Linux: "5" written to
/// /proc/self/clear_refs). False where that is not possible.
func resetPeakResidentBytes() -> Bool {
    guard let f = fopen("/proc/self/clear_refs", "w") else { return false }
    let ok = fputs("5", f) >= 0
    return fclose(f) == 0 && ok
}

/// Peak resident set size of this process (VmHWM), in bytes.
public func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}
