import Blocking
import Dispatch
import Testing

@Suite("BlockingExecutor")
struct BlockingExecutorTests {
    @Test("returns what the work returns and throws what it throws")
    func resultAndError() async throws {
        struct Boom: Error {}
        #expect(try await BlockingExecutor.run { 6 * 7 } == 42)
        await #expect(throws: Boom.self) { try await BlockingExecutor.run { throw Boom() } }
    }

    /// More blocked works than the cooperative pool has threads (one per core): if they ran on
    /// the pool, the task that releases them could never run and the test would hang (the time
    /// limit fails it).
    @Test("blocked work does not hold the cooperative pool", .timeLimit(.minutes(1)))
    func poolStaysFree() async throws {
        let blockers = 16
        let release = DispatchSemaphore(value: 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<blockers {
                group.addTask { try await BlockingExecutor.run { release.wait() } }
            }
            // Runs on the cooperative pool, after every blocker has been handed to a thread.
            group.addTask {
                for _ in 0..<blockers { release.signal() }
            }
            try await group.waitForAll()
        }
    }

    @Test("cancelling the awaiting task calls onCancel, which ends the work")
    func cancellation() async throws {
        let flag = CancellationFlag()
        let (started, continuation) = AsyncStream.makeStream(of: Void.self)
        let task = Task {
            try await BlockingExecutor.run(onCancel: { flag.cancel() }) {
                continuation.finish()
                while !flag.isCancelled { flag.sleep(for: .seconds(3600)) }
                throw CancellationError()
            }
        }
        for await _ in started {}
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(flag.isCancelled)
    }
}

@Suite("CancellationFlag")
struct CancellationFlagTests {
    @Test("a wake-up that came before the sleep is kept, so the sleep returns at once")
    func wakeBeforeSleep() {
        let flag = CancellationFlag()
        flag.wake()
        let clock = ContinuousClock()
        let elapsed = clock.measure { flag.sleep(for: .seconds(3600)) }
        #expect(elapsed < .seconds(3600))
        #expect(!flag.isCancelled)
    }

    @Test("sleep returns after its duration when nothing wakes it")
    func sleepTimesOut() {
        let flag = CancellationFlag()
        let clock = ContinuousClock()
        let elapsed = clock.measure { flag.sleep(for: .milliseconds(50)) }
        #expect(elapsed >= .milliseconds(50))
    }

    @Test("cancel sets the flag and wakes a sleeper on another thread")
    func cancelWakes() async throws {
        let flag = CancellationFlag()
        let (sleeping, continuation) = AsyncStream.makeStream(of: Void.self)
        let sleeper = Task {
            try await BlockingExecutor.run {
                continuation.finish()
                flag.sleep(for: .seconds(3600))
                return flag.isCancelled
            }
        }
        for await _ in sleeping {}
        flag.cancel()
        #expect(try await sleeper.value)
    }
}
