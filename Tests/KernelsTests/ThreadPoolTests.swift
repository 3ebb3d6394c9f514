import Synchronization
import XCTest
@testable import SpecDecKernels

final class ThreadPoolTests: XCTestCase {
    /// Runs `tasks` tasks and returns how many times each index ran.
    private func counts(_ pool: ThreadPool, tasks: Int) -> [Int] {
        let hits = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: max(tasks, 1))
        for i in 0..<max(tasks, 1) { (hits + i).initialize(to: Atomic(0)) }
        defer { hits.deallocate() }
        pool.run(tasks: tasks) { i in
            precondition(i >= 0 && i < tasks)
            hits[i].add(1, ordering: .relaxed)
        }
        return (0..<tasks).map { hits[$0].load(ordering: .relaxed) }
    }

    func testEveryTaskIndexRunsExactlyOnceForAnyTaskCount() {
        for threads in [1, 2, 3, 4] {
            let pool = ThreadPool(threads: threads)
            XCTAssertEqual(pool.threadCount, threads)
            for tasks in [0, 1, 7, 1000] {
                XCTAssertEqual(counts(pool, tasks: tasks), [Int](repeating: 1, count: tasks), "\(threads) threads, \(tasks) tasks")
            }
        }
    }

    func testRepeatedCallsReuseTheWorkersCorrectly() {
        let pool = ThreadPool(threads: 2)
        for round in 0..<2000 {
            let tasks = [0, 1, 7, 1000][round % 4]
            let c = counts(pool, tasks: tasks)
            if c != [Int](repeating: 1, count: tasks) { XCTFail("round \(round): wrong counts"); return }
        }
    }

    func testCallsAfterWorkersWentToSleepStillComplete() {
        let pool = ThreadPool(threads: 2)
        XCTAssertEqual(counts(pool, tasks: 7), [Int](repeating: 1, count: 7))
        usleep(50_000)  // long enough for the workers to stop spinning and sleep
        XCTAssertEqual(counts(pool, tasks: 1000), [Int](repeating: 1, count: 1000))
    }

    func testWorkIsSharedWithTheWorkerThreads() {
        let pool = ThreadPool(threads: 2)
        let caller = pthread_self()
        let others = Atomic<Int>(0)
        for _ in 0..<50 {
            pool.run(tasks: 64) { _ in
                if pthread_equal(pthread_self(), caller) == 0 { others.add(1, ordering: .relaxed) }
                usleep(100)
            }
        }
        XCTAssertGreaterThan(others.load(ordering: .relaxed), 0)
    }

    func testNestedRunExecutesInlineInsteadOfDeadlocking() {
        let pool = ThreadPool(threads: 2)
        let total = Atomic<Int>(0)
        pool.run(tasks: 4) { _ in
            pool.run(tasks: 10) { _ in total.add(1, ordering: .relaxed) }
        }
        XCTAssertEqual(total.load(ordering: .relaxed), 40)
    }

    func testPoolsCanBeCreatedAndDestroyedRepeatedly() {
        for _ in 0..<20 {
            let pool = ThreadPool(threads: 3)
            XCTAssertEqual(counts(pool, tasks: 100), [Int](repeating: 1, count: 100))
        }
    }
}
