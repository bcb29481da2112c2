import Foundation

/// Runs blocking work on a dedicated thread and lets async code await it.
///
/// Why a thread per call and not `DispatchQueue.global()`: on Linux the global concurrent queues
/// share a worker pool sized by the number of cores, and Swift's cooperative executor is built on
/// the same libdispatch, so a burst of blocking work there can still starve tasks. A new thread
/// costs tens of microseconds, nothing beside a C call that waits for a VM or a process.
public enum BlockingExecutor {
    /// Runs `work` on a new thread and returns (or throws) what it returns (or throws).
    ///
    /// - Parameters:
    ///   - name: the thread's name, shown by debuggers and `top -H`.
    ///   - onCancel: called (on whichever thread cancels) when the awaiting task is cancelled,
    ///     also when it was cancelled before the call. It should make `work` end early (signal
    ///     what it waits on, kill the process it waits for); `work` decides what to return or
    ///     throw then, usually `CancellationError`. Without it, cancellation waits for `work`.
    ///   - work: the blocking work. It runs to its end even if the task is cancelled.
    public static func run<T: Sendable>(
        name: String = "vmserial.blocking",
        onCancel: @escaping @Sendable () -> Void = {},
        _ work: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
                detachThread(name: name) {
                    continuation.resume(with: Result { try work() })
                }
            }
        } onCancel: {
            onCancel()
        }
    }

    /// Starts `body` on a new thread that nobody joins (an event loop, a reaper).
    public static func detachThread(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread { body() }
        thread.name = name
        thread.start()
    }
}

/// A flag that one thread sets and another reads, with a semaphore that wakes a waiter: the
/// cancellation signal between a task's cancellation handler and the blocking work it awaits.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private let wakeUp = DispatchSemaphore(value: 0)

    public init() {}

    /// Whether `cancel()` has been called.
    public var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    /// Sets the flag and wakes a thread blocked in `sleep(for:)`.
    public func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
        wakeUp.signal()
    }

    /// Wakes a thread blocked in `sleep(for:)` without cancelling (something it waits for happened).
    public func wake() {
        wakeUp.signal()
    }

    /// Blocks until `wake()` or `cancel()` is called, or `duration` passes. A wake-up that came
    /// while nobody slept is kept, so a signal between a check and the sleep is not lost.
    public func sleep(for duration: Duration) {
        let (seconds, attoseconds) = duration.components
        // Capped at about 136 years, so the multiplication cannot overflow.
        let nanoseconds = min(max(0, seconds), 1 << 32) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000
        _ = wakeUp.wait(timeout: .now() + .nanoseconds(Int(clamping: nanoseconds)))
    }
}
