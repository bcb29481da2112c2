import Blocking
import Foundation

/// A started program. Its output is read on threads of its own from the start, so a child that
/// fills a pipe never waits on the caller; its exit is seen through `Process`'s termination
/// handler, so a wait returns as soon as the child is reaped (swift-corelibs-foundation's
/// `waitUntilExit()` polls its run loop every 50 ms instead).
public final class RunningProcess: @unchecked Sendable {
    private let process = Process()
    private let command: Command
    private let exited = DispatchSemaphore(value: 0)
    private let readersDone = DispatchGroup()
    private let lock = NSLock()
    private var captured: [Data] = [Data(), Data()]
    private var hasExited = false
    private var stopRequested = false
    private var timedOut = false
    private var result: ProcessResult?

    /// The child's process id.
    public var pid: Int32 { process.processIdentifier }

    /// Whether the child has not exited yet.
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return !hasExited
    }

    init(_ command: Command) throws {
        self.command = command
        guard let path = Command.which(command.executable) else { throw ProcessError.notFound(command.executable) }
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = command.arguments
        if let environment = command.environment { process.environment = environment }
        if let folder = command.currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: folder) }

        var inputBytes: Data?
        let inputPipe: Pipe?
        switch command.input {
        case .none:
            process.standardInput = FileHandle.nullDevice
            inputPipe = nil
        case .inherit:
            inputPipe = nil
        case .data(let data):
            let pipe = Pipe()
            process.standardInput = pipe
            inputPipe = pipe
            inputBytes = data
        }
        let streams = [command.standardOutput, command.standardError]
        var readers: [(FileHandle, Int, Command.Output)] = []
        var openedFiles: [FileHandle] = []
        for (index, output) in streams.enumerated() {
            let target: Any?
            switch output {
            case .inherit:
                target = nil
            case .discard:
                target = FileHandle.nullDevice
            case .file(let path):
                // O_APPEND: standard output and error sent to one file must not overwrite each other.
                let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
                guard fd >= 0 else {
                    throw ProcessError.launchFailed(
                        command: [command.executable] + command.arguments,
                        reason: "cannot open \(path) for its output: \(String(cString: strerror(errno)))")
                }
                let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
                openedFiles.append(handle)
                target = handle
            case .capture, .stream:
                let pipe = Pipe()
                readers.append((pipe.fileHandleForReading, index, output))
                target = pipe
            }
            if let target {
                if index == 0 { process.standardOutput = target } else { process.standardError = target }
            }
        }
        process.terminationHandler = { [weak self, exited] _ in
            if let self {
                self.lock.lock()
                self.hasExited = true
                self.lock.unlock()
            }
            exited.signal()
        }
        do {
            nonisolated(unsafe) let unsent = process
            try Self.withEmptySignalMask { try unsent.run() }
        } catch {
            throw ProcessError.launchFailed(command: [path] + command.arguments, reason: "\(error)")
        }
        // The child has its own copies now.
        for handle in openedFiles { try? handle.close() }
        for (handle, index, output) in readers {
            readersDone.enter()
            BlockingExecutor.detachThread(name: "vmserial.process-output") { [self] in
                // read(2) itself: FileHandle.availableData traps on an error, and
                // read(upToCount:) holds a chunk back until it is full (progress needs each one).
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { break }
                    let chunk = Data(buffer[0..<count])
                    if case .stream(let consume) = output {
                        consume(chunk)
                    } else {
                        lock.lock()
                        captured[index].append(chunk)
                        lock.unlock()
                    }
                }
                try? handle.close()
                readersDone.leave()
            }
        }
        if let inputPipe {
            let bytes = inputBytes ?? Data()
            BlockingExecutor.detachThread(name: "vmserial.process-input") {
                // A child that exits without reading all of it closes the pipe: ignore EPIPE
                // (Foundation's write would raise SIGPIPE, which the runtime ignores).
                let handle = inputPipe.fileHandleForWriting
                try? handle.write(contentsOf: bytes)
                try? handle.close()
            }
        }
        if let timeout = command.timeout {
            BlockingExecutor.detachThread(name: "vmserial.process-timeout") { [self] in
                if exited.wait(timeout: .now() + Self.dispatchInterval(timeout)) == .timedOut {
                    lock.lock()
                    timedOut = true
                    lock.unlock()
                    terminate()
                } else {
                    exited.signal()  // give back the signal the real waiter needs
                }
            }
        }
    }

    /// Sends SIGTERM, then SIGKILL when the child is still there after `terminationGrace`.
    /// Returns at once; safe to call more than once and from a signal or cancellation handler.
    public func terminate() {
        lock.lock()
        let alreadyGone = hasExited
        let first = !stopRequested
        if !alreadyGone { stopRequested = true }
        lock.unlock()
        guard !alreadyGone, first else { return }
        process.terminate()
        let grace = command.terminationGrace
        BlockingExecutor.detachThread(name: "vmserial.process-kill") { [self] in
            if exited.wait(timeout: .now() + Self.dispatchInterval(grace)) == .timedOut {
                if isRunning { kill(pid, SIGKILL) }
            } else {
                exited.signal()
            }
        }
    }

    /// Sends one signal (SIGINT to test a Ctrl-C handler, …), unless the child has exited.
    public func signal(_ number: Int32) {
        if isRunning { kill(pid, number) }
    }

    /// Blocks until the child has exited and its output streams are closed; returns how it ended.
    @discardableResult
    public func wait() -> ProcessResult {
        lock.lock()
        if let result { lock.unlock(); return result }
        lock.unlock()
        exited.wait()
        exited.signal()  // every later wait (and the timeout and kill threads) returns at once
        // Output a grandchild keeps open is not waited for past the child's exit by more than this.
        _ = readersDone.wait(timeout: .now() + .seconds(5))
        lock.lock()
        defer { lock.unlock() }
        if let result { return result }
        let reason = process.terminationReason
        let made = ProcessResult(
            status: process.terminationStatus, signalled: reason == .uncaughtSignal,
            standardOutput: captured[0], standardError: captured[1], timedOut: timedOut,
            terminatedByUs: stopRequested, commandLine: [command.executable] + command.arguments)
        result = made
        return made
    }

    /// Waits at most `timeout`: the result, or nil when the child still runs.
    public func wait(timeout: Duration) -> ProcessResult? {
        if exited.wait(timeout: .now() + Self.dispatchInterval(timeout)) == .timedOut { return nil }
        exited.signal()
        return wait()
    }

    /// Awaits the exit on a thread of its own; cancelling the task stops the child (SIGTERM, then SIGKILL).
    public func waitAsync() async throws -> ProcessResult {
        try await BlockingExecutor.run(name: "vmserial.process-wait", onCancel: { self.terminate() }) {
            self.wait()
        }
    }

    /// Runs `spawn` on a new thread whose signal mask is empty, and waits for it.
    ///
    /// Foundation's `Process` spawns from the calling thread and the child inherits that thread's
    /// signal mask. libdispatch's threads, Swift's cooperative pool among them, block almost every
    /// signal, so a child spawned from one would never see SIGTERM or SIGINT (seen here: a `sleep`
    /// started from a test ran to its end through both). Signals the process ignores would still
    /// be inherited (`Process` cannot reset dispositions): vmserial catches SIGINT and SIGTERM with
    /// a handler instead (`Interrupts`), and execve resets caught signals to their defaults.
    static func withEmptySignalMask(_ spawn: @escaping @Sendable () throws -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        let outcome = LockedResult()
        BlockingExecutor.detachThread(name: "vmserial.process-spawn") {
            var empty = sigset_t()
            sigemptyset(&empty)
            pthread_sigmask(SIG_SETMASK, &empty, nil)
            do { try spawn() } catch { outcome.error = error }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw error }
    }

    static func dispatchInterval(_ duration: Duration) -> DispatchTimeInterval {
        let (seconds, attoseconds) = duration.components
        let milliseconds = min(max(0, seconds), 1 << 32) * 1000 + max(0, attoseconds) / 1_000_000_000_000_000
        return .milliseconds(Int(clamping: milliseconds))
    }
}

/// An error handed from the spawning thread back to the caller.
private final class LockedResult: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    var error: Error? {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
