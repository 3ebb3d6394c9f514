#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SpecDecCKernels
import Synchronization

/// Persistent worker threads (no thread creation per call). `run(tasks:body)` calls body(taskIndex) for 0..<tasks spread over the workers and the calling thread, returns when all are done.
///
/// Workers spin for up to 1 ms after finishing a job (so back-to-back calls, such as the matrix
/// multiplications of a forward pass, start with no system call), then sleep on a condition
/// variable. Tasks are handed out dynamically through an atomic counter.
/// A call made while another `run` is in progress (nested or from another thread) runs
/// its tasks serially on the calling thread.
public final class ThreadPool: @unchecked Sendable {
    /// Number of threads that execute tasks, the calling thread included.
    public var threadCount: Int { workers.count + 1 }

    private var workers: [pthread_t] = []
    private let generation = Atomic<Int>(0)
    private let nextTask = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let shutdown = Atomic<Bool>(false)
    private var taskCount = 0
    private var body: ((Int) -> Void)?
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>

    /// How long a worker spins for new work before it sleeps: long enough to bridge the gaps between
    /// the matrix multiplications of a forward pass, short enough not to burn an idle core for long.
    private static let spinNanoseconds: UInt64 = 1_000_000

    /// Creates a pool that runs tasks on `threads` threads in total (the caller plus `threads - 1` workers).
    public init(threads: Int) {
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
        let n = max(1, threads) - 1
        for _ in 0..<n {
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
        generation.add(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
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
            self.taskCount = tasks
            nextTask.store(0, ordering: .relaxed)
            pending.store(workers.count, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(cond)
                pthread_mutex_unlock(mutex)
            }
            drain(escapable, tasks)
            var spins = 0
            while pending.load(ordering: .acquiring) > 0 {
                spins += 1
                if spins > 4096 { sched_yield() } else { sdk_pause() }
            }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    @inline(__always)
    private func drain(_ body: (Int) -> Void, _ tasks: Int) {
        while true {
            let i = nextTask.add(1, ordering: .relaxed).oldValue
            if i >= tasks { break }
            body(i)
        }
    }

    private func workerLoop() {
        var seen = 0
        while true {
            var g = generation.load(ordering: .acquiring)
            if g == seen {
                let start = monotonicNanoseconds()
                var spins = 0
                while g == seen {
                    sdk_pause()
                    spins += 1
                    if spins & 255 == 0 && monotonicNanoseconds() - start > Self.spinNanoseconds {
                        pthread_mutex_lock(mutex)
                        sleepers.add(1, ordering: .sequentiallyConsistent)
                        while generation.load(ordering: .sequentiallyConsistent) == seen {
                            pthread_cond_wait(cond, mutex)
                        }
                        sleepers.subtract(1, ordering: .sequentiallyConsistent)
                        pthread_mutex_unlock(mutex)
                    }
                    g = generation.load(ordering: .acquiring)
                }
            }
            seen = g
            if shutdown.load(ordering: .acquiring) { return }
            if let body = self.body { drain(body, taskCount) }
            pending.subtract(1, ordering: .releasing)
        }
    }
}

@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
