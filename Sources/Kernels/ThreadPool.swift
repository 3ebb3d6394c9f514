#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SpecDecCKernels
import Synchronization

/// Persistent worker threads (no thread creation per call). `run(tasks:body)` calls body(taskIndex) for 0..<tasks spread over the workers and the calling thread, returns when all are done.
///
/// Tasks are claimed one at a time from a single atomic ticket (job generation, task count, next
/// index), so the caller never waits for a worker that has not claimed anything: a job is finished
/// when its claimed tasks are, and a worker that wakes late finds nothing left or joins a later job.
/// Workers spin for up to 1 ms after their last task (back-to-back calls, such as the matrix
/// multiplications of a forward pass, start with no system call), then sleep on a condition variable.
/// A call made while another `run` is in progress (nested or from another thread) runs its tasks
/// serially on the calling thread.
public final class ThreadPool: @unchecked Sendable {
    /// Number of threads that execute tasks, the calling thread included.
    public var threadCount: Int { workers.count + 1 }

    private var workers: [pthread_t] = []
    /// generation (bits 40...63) | task count (bits 20...39) | next task index (bits 0...19).
    private let ticket = Atomic<UInt64>(0)
    private let done = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let shutdown = Atomic<Bool>(false)
    private var body: ((Int) -> Void)?
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>

    /// How long a worker spins for new work before it sleeps.
    private static let spinNanoseconds: UInt64 = 1_000_000
    /// Largest task count of one job (20 bits); bigger jobs are split into consecutive jobs.
    private static let maxTasks = (1 << 20) - 1

    /// Creates a pool that runs tasks on `threads` threads in total (the caller plus `threads - 1` workers).
    public init(threads: Int) {
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
        for _ in 0..<(max(1, threads) - 1) {
            var tid = pthread_t()
            let ctx = Unmanaged.passUnretained(self).toOpaque()
            let rc = pthread_create(&tid, nil, { raw in
                #if canImport(Darwin)
                let pool = Unmanaged<ThreadPool>.fromOpaque(raw).takeUnretainedValue()
                #else
                let pool = Unmanaged<ThreadPool>.fromOpaque(raw!).takeUnretainedValue()
                #endif
                pool.workerLoop()
                return nil
            }, ctx)
            precondition(rc == 0, "pthread_create failed")
            workers.append(tid)
        }
    }

    deinit {
        shutdown.store(true, ordering: .sequentiallyConsistent)
        ticket.add(1 << 40, ordering: .sequentiallyConsistent)
        wakeSleepers()
        for t in workers { pthread_join(t, nil) }
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
    }

    /// Calls `body(i)` exactly once for every i in 0..<tasks, on the pool's threads and the caller; returns when all are done.
    public func run(tasks: Int, _ body: (Int) -> Void) {
        if tasks <= 0 { return }
        if tasks == 1 || workers.isEmpty
            || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            for i in 0..<tasks { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            self.body = escapable
            var start = 0
            while start < tasks {
                let count = min(Self.maxTasks, tasks - start)
                runJob(count: count, offset: start)
                start += count
            }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    private var offset = 0

    private func runJob(count: Int, offset: Int) {
        self.offset = offset
        done.store(0, ordering: .relaxed)
        let generation = ((ticket.load(ordering: .relaxed) >> 40) &+ 1) & 0xFF_FFFF
        ticket.store((generation << 40) | (UInt64(count) << 20), ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 { wakeSleepers() }
        work(generation: generation)
        var spins = 0
        while done.load(ordering: .acquiring) < count {
            spins += 1
            if spins > 4096 { sched_yield() } else { sdk_pause() }
        }
    }

    private func wakeSleepers() {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    /// Claims and runs tasks of job `generation` until none is left (or a newer job started).
    @inline(__always)
    private func work(generation: UInt64) {
        var t = ticket.load(ordering: .acquiring)
        while t >> 40 == generation {
            let next = t & 0xFFFFF, count = (t >> 20) & 0xFFFFF
            if next >= count { return }
            let (exchanged, original) = ticket.compareExchange(expected: t, desired: t + 1, ordering: .acquiringAndReleasing)
            if exchanged {
                body!(offset + Int(next))
                done.add(1, ordering: .releasing)
                t = ticket.load(ordering: .acquiring)
            } else {
                t = original
            }
        }
    }

    private func workerLoop() {
        var seen: UInt64 = 0
        while true {
            var g = ticket.load(ordering: .acquiring) >> 40
            if g == seen {
                let start = monotonicNanoseconds()
                var spins = 0
                while g == seen {
                    sdk_pause()
                    spins += 1
                    if spins & 255 == 0 && monotonicNanoseconds() - start > Self.spinNanoseconds {
                        pthread_mutex_lock(mutex)
                        sleepers.add(1, ordering: .sequentiallyConsistent)
                        while ticket.load(ordering: .sequentiallyConsistent) >> 40 == seen {
                            pthread_cond_wait(cond, mutex)
                        }
                        sleepers.subtract(1, ordering: .sequentiallyConsistent)
                        pthread_mutex_unlock(mutex)
                    }
                    g = ticket.load(ordering: .acquiring) >> 40
                }
            }
            seen = g
            if shutdown.load(ordering: .acquiring) { return }
            work(generation: g)
        }
    }
}

@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
