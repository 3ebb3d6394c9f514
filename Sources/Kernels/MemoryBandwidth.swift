#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// A memory read-bandwidth probe: every thread of a pool sums its share of a buffer much larger than
/// the caches, sequentially, with vector loads (the access pattern of decoding, which streams every
/// weight once per token). `specdec speed` reports it next to the decode speed, so that a decode
/// figure can be read as a fraction of what the machine delivered at the time (on a shared machine
/// the bandwidth moves by a factor of two within minutes). tools/bandwidth/bw.c is the same
/// measurement in C.
public struct MemoryBandwidthProbe: Sendable {
    /// Bytes read per pass (rounded down to a multiple of 256 per thread).
    public var bytes: Int
    /// Passes per measurement; the fastest one counts.
    public var passes: Int

    public init(bytes: Int = 256 << 20, passes: Int = 3) {
        self.bytes = bytes
        self.passes = passes
    }

    /// Read bandwidth in GB/s (10^9 bytes per second) of `pool`'s threads together, the best of
    /// `passes` passes over a freshly written buffer of `bytes` bytes; 0 when `bytes` is too small to
    /// give every thread 256 bytes.
    public func measure(pool: ThreadPool) -> Double {
        let threads = pool.threadCount
        let perThread = bytes / threads / 256 * 256
        guard perThread > 0, passes > 0 else { return 0 }
        let total = perThread * threads
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: total, alignment: 64)
        defer { buffer.deallocate() }
        // Written (not just allocated) so that every page is backed before the timed passes.
        pool.run(tasks: threads) { t in
            (buffer + t * perThread).initializeMemory(as: Float.self, repeating: Float(t + 1),
                                                      count: perThread / MemoryLayout<Float>.stride)
        }
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: threads)
        defer { sums.deallocate() }
        var best = 0.0
        for _ in 0..<passes {
            let t0 = DispatchTime.now().uptimeNanoseconds
            pool.run(tasks: threads) { t in
                sums[t] = MemoryBandwidthProbe.sum(UnsafeRawPointer(buffer + t * perThread), bytes: perThread)
            }
            let ns = Double(DispatchTime.now().uptimeNanoseconds - t0)
            // The sums are used, so the reads cannot be dropped: each thread's is count * (t + 1).
            var check: Float = 0
            for t in 0..<threads { check += sums[t] }
            if check.isNaN || ns <= 0 { continue }
            best = max(best, Double(total) / ns)
        }
        return best
    }

    /// Sum of the floats in `bytes` bytes (a multiple of 256) at p, four 64-byte vectors per step.
    @inline(never)
    static func sum(_ p: UnsafeRawPointer, bytes: Int) -> Float {
        var a = SIMD16<Float>(), b = SIMD16<Float>(), c = SIMD16<Float>(), d = SIMD16<Float>()
        var o = 0
        while o < bytes {
            a += p.load(fromByteOffset: o, as: SIMD16<Float>.self)
            b += p.load(fromByteOffset: o + 64, as: SIMD16<Float>.self)
            c += p.load(fromByteOffset: o + 128, as: SIMD16<Float>.self)
            d += p.load(fromByteOffset: o + 192, as: SIMD16<Float>.self)
            o += 256
        }
        return (a + b + c + d).sum()
    }
}
