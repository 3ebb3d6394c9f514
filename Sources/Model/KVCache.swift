#if canImport(Glibc)
import Glibc
#endif

/// Keys and values of every layer for the tokens evaluated so far.
///
/// The storage is zeroed memory from `calloc`, which the system maps lazily: only the positions a
/// generation reaches become resident, so a 4,096-token cache costs memory as it fills.
///
/// Slots are indexed by position, so rolling back rejected draft tokens is
/// ``truncate(to:)``: set the length back; later writes overwrite the stale slots.
public final class KVCache: @unchecked Sendable {
    /// Number of layers.
    public let layerCount: Int
    /// Maximum number of positions.
    public let capacity: Int
    /// Width of one position's keys (kvHeads * headDim).
    public let kvDim: Int
    /// [layers, capacity, kvDim]
    let keys: UnsafeMutablePointer<Float>
    /// [layers, capacity, kvDim]
    let values: UnsafeMutablePointer<Float>
    /// Number of valid positions.
    public internal(set) var count: Int = 0

    /// Allocates a cache for `capacity` positions; throws ``ModelError/outOfMemory(bytes:)`` when the
    /// memory cannot be had (a context far larger than the machine allows).
    public init(layerCount: Int, capacity: Int, kvDim: Int) throws {
        precondition(layerCount > 0 && capacity > 0 && kvDim > 0)
        self.layerCount = layerCount
        self.capacity = capacity
        self.kvDim = kvDim
        // Element count and total bytes (keys and values), Int.max when they do not fit an Int.
        let (perLayer, o1) = capacity.multipliedReportingOverflow(by: kvDim)
        let (n, o2) = layerCount.multipliedReportingOverflow(by: perLayer)
        let (bytes, o3) = n.multipliedReportingOverflow(by: 2 * MemoryLayout<Float>.size)
        let total = o1 || o2 || o3 ? Int.max : bytes
        guard total < Int.max, let k = calloc(n, MemoryLayout<Float>.size) else { throw ModelError.outOfMemory(bytes: total) }
        guard let v = calloc(n, MemoryLayout<Float>.size) else {
            free(k)
            throw ModelError.outOfMemory(bytes: total)
        }
        keys = k.assumingMemoryBound(to: Float.self)
        values = v.assumingMemoryBound(to: Float.self)
    }

    deinit {
        free(keys)
        free(values)
    }

    /// Drops every position at or after `length` (no-op when `length >= count`).
    public func truncate(to length: Int) {
        count = max(0, min(count, length))
    }

    /// Empties the cache.
    public func reset() { count = 0 }

    /// Keeps the slots `start + rows[j]` (rows increasing, `rows[j] ≥ j`) as slots `start + j` and drops
    /// every slot after them: the accepted path of a token tree moved into place.
    func keepRows(_ rows: [Int], from start: Int) {
        for l in 0..<layerCount {
            for (j, r) in rows.enumerated() where r != j {
                keyPointer(layer: l, position: start + j).update(from: keyPointer(layer: l, position: start + r), count: kvDim)
                valuePointer(layer: l, position: start + j).update(from: valuePointer(layer: l, position: start + r), count: kvDim)
            }
        }
        count = start + rows.count
    }

    /// Bytes held by the cache.
    public var byteCount: Int { 2 * layerCount * capacity * kvDim * MemoryLayout<Float>.size }

    /// Pointer to the keys of `position` in `layer`.
    @inline(__always) func keyPointer(layer: Int, position: Int) -> UnsafeMutablePointer<Float> {
        keys + (layer * capacity + position) * kvDim
    }

    /// Pointer to the values of `position` in `layer`.
    @inline(__always) func valuePointer(layer: Int, position: Int) -> UnsafeMutablePointer<Float> {
        values + (layer * capacity + position) * kvDim
    }

    /// A copy of the keys and values of the first `count` positions of every layer (for tests).
    public func snapshot() -> (keys: [Float], values: [Float]) {
        var k: [Float] = []
        var v: [Float] = []
        for l in 0..<layerCount {
            k.append(contentsOf: UnsafeBufferPointer(start: keyPointer(layer: l, position: 0), count: count * kvDim))
            v.append(contentsOf: UnsafeBufferPointer(start: valuePointer(layer: l, position: 0), count: count * kvDim))
        }
        return (k, v)
    }

    /// Keys and values of the first `count` positions, as ``snapshot()`` returns them, put back
    /// (e.g. a calibration that evaluates many variants after one shared prefix). Throws
    /// ``ModelError/badPosition(_:)`` when `count` exceeds the capacity or the arrays do not hold
    /// `count` positions of every layer.
    public func restore(keys k: [Float], values v: [Float], count n: Int) throws {
        guard n >= 0, n <= capacity, k.count == n * kvDim * layerCount, v.count == k.count else { throw ModelError.badPosition(n) }
        let per = n * kvDim
        k.withUnsafeBufferPointer { kb in
            v.withUnsafeBufferPointer { vb in
                for l in 0..<layerCount where per > 0 {
                    keyPointer(layer: l, position: 0).update(from: kb.baseAddress! + l * per, count: per)
                    valuePointer(layer: l, position: 0).update(from: vb.baseAddress! + l * per, count: per)
                }
            }
        }
        count = n
    }
}
