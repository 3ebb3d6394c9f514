/// Hands out slots: a free slot at once, else a place in a bounded queue (first come, first served);
/// a full queue refuses (429). A waiting request whose task is cancelled (its client went away) leaves
/// the queue.
public actor SlotScheduler {
    private var free: [Slot]
    private var waiters: [(id: Int, continuation: CheckedContinuation<Slot, Error>)] = []
    private var nextID = 0
    private var draining = false
    /// Every slot of the server.
    public nonisolated let slots: [Slot]
    /// Longest queue.
    public nonisolated let queueLimit: Int

    public init(slots: [Slot], queueLimit: Int) {
        self.slots = slots
        free = slots
        self.queueLimit = queueLimit
    }

    /// Requests waiting for a slot.
    public var queueDepth: Int { waiters.count }
    /// Slots generating now.
    public var busySlots: Int { slots.count - free.count }

    /// A free slot, waiting in the queue when none is; throws ``APIError/queueFull(queue:)`` when the
    /// queue is full and ``APIError/shuttingDown`` once the server drains.
    public func acquire() async throws -> Slot {
        if draining { throw APIError.shuttingDown }
        try Task.checkCancellation()
        if !free.isEmpty { return free.removeFirst() }
        guard waiters.count < queueLimit else { throw APIError.queueFull(queue: queueLimit) }
        let id = nextID
        nextID += 1
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters.append((id, continuation))
            }
        } onCancel: {
            Task { await self.leave(id) }
        }
    }

    /// Returns a slot: the longest-waiting request gets it, else it is free.
    public func release(_ slot: Slot) {
        if !waiters.isEmpty {
            waiters.removeFirst().continuation.resume(returning: slot)
        } else {
            free.append(slot)
            free.sort { $0.index < $1.index }
        }
    }

    /// Refuses new requests and the queued ones (graceful shutdown; running ones finish).
    public func drain() {
        draining = true
        let queued = waiters
        waiters = []
        for w in queued { w.continuation.resume(throwing: APIError.shuttingDown) }
    }

    private func leave(_ id: Int) {
        guard let i = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: i).continuation.resume(throwing: CancellationError())
    }
}
