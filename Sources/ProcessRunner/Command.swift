// Why not swift-subprocess (swiftlang/swift-subprocess 1.0.2 is among this machine's packages):
// its API is async only, and vmserial is synchronous from the command line down (ParsableCommand,
// the verifiers, the migrator, the tests that run tools), so every call site would need a bridge
// back to a blocking wait, which is the very thing that must not sit on the cooperative pool; and
// it adds a package to every CI build. Foundation's `Process`, which the product already used,
// does the spawning; this module adds what it lacks (capture of both pipes, stdin, timeout,
// SIGTERM then SIGKILL, a wait on the termination handler). In swift-subprocess's favour: its
// spawn resets the child's signal mask and dispositions (POSIX_SPAWN_SETSIGMASK|SETSIGDEF) and has
// a teardown sequence; here the mask is reset (see `RunningProcess.withEmptySignalMask`), the
// dispositions cannot be through `Process`, so vmserial never ignores a signal a child must see
// (`Interrupts` catches SIGINT and SIGTERM with a handler, which execve resets).

import Blocking
import Foundation

/// A program to run: what, with which arguments, environment, input and output.
public struct Command: Sendable {
    /// Where a child's standard output or error goes.
    public enum Output: Sendable {
        /// Kept in memory and returned in `ProcessResult`.
        case capture
        /// /dev/null.
        case discard
        /// This process's own stream.
        case inherit
        /// Appended to the file at this path (created 0600 when missing).
        case file(String)
        /// Each chunk as it arrives, on a reader thread; nothing is kept.
        case stream(@Sendable (Data) -> Void)
    }

    /// What the child reads on standard input.
    public enum Input: Sendable {
        /// /dev/null: a child that reads gets end of file at once, never waits on a terminal.
        case none
        /// These bytes, then end of file.
        case data(Data)
        /// This process's own standard input.
        case inherit
    }

    /// An absolute path, or a name looked up on PATH when the command runs.
    public var executable: String
    public var arguments: [String]
    /// The child's whole environment; nil: this process's environment.
    public var environment: [String: String]?
    public var currentDirectory: String?
    public var input: Input
    public var standardOutput: Output
    public var standardError: Output
    /// Stop the child (SIGTERM, then SIGKILL after `terminationGrace`) when it runs longer.
    public var timeout: Duration?
    /// How long a child has between SIGTERM and SIGKILL.
    public var terminationGrace: Duration

    public init(
        _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
        currentDirectory: String? = nil, input: Input = .none,
        standardOutput: Output = .capture, standardError: Output = .capture,
        timeout: Duration? = nil, terminationGrace: Duration = .seconds(10)
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.currentDirectory = currentDirectory
        self.input = input
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.timeout = timeout
        self.terminationGrace = terminationGrace
    }

    /// This process's environment with `changes` applied on top.
    public static func environment(adding changes: [String: String]) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(changes) { _, new in new }
    }

    /// The program's path: `executable` itself when it contains a slash, else the first
    /// executable file of that name on PATH (then /usr/bin, /usr/local/bin, /usr/sbin, /sbin).
    public static func which(_ tool: String) -> String? {
        if tool.contains("/") { return FileManager.default.isExecutableFile(atPath: tool) ? tool : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let folders = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin", "/usr/sbin", "/sbin"]
        return folders.lazy.map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs the program to its end (or its timeout) and returns how it ended. A non-zero exit
    /// is a result, not an error: see `ProcessResult.checked()`.
    ///
    /// - Throws: `ProcessError.notFound` or `.launchFailed` when it cannot start.
    public func run() throws -> ProcessResult {
        try start().wait()
    }

    /// Runs the program on threads of its own and awaits its end. Cancelling the task stops
    /// the child (SIGTERM, then SIGKILL after `terminationGrace`) and throws `CancellationError`.
    public func run() async throws -> ProcessResult {
        let running = try start()
        let result = try await BlockingExecutor.run(name: "vmserial.process-wait", onCancel: { running.terminate() }) {
            running.wait()
        }
        if result.terminatedByUs && !result.timedOut { throw CancellationError() }
        return result
    }

    /// Starts the program and returns at once; `RunningProcess.wait()` collects it.
    public func start() throws -> RunningProcess {
        try RunningProcess(self)
    }
}

/// How a program ended, with what it wrote when its output was captured.
public struct ProcessResult: Sendable {
    /// The exit status, or the signal number when `signalled`.
    public let status: Int32
    /// Killed by a signal (`status` is the signal) rather than exited.
    public let signalled: Bool
    /// Captured standard output (empty unless `.capture`).
    public let standardOutput: Data
    /// Captured standard error (empty unless `.capture`).
    public let standardError: Data
    /// The timeout passed and the child was stopped.
    public let timedOut: Bool
    /// The child was stopped by `terminate()` (a timeout, a cancellation, a caller).
    public let terminatedByUs: Bool
    /// The command line, for messages.
    public let commandLine: [String]

    /// Exited with status 0.
    public var succeeded: Bool { status == 0 && !signalled }
    public var output: String { String(decoding: standardOutput, as: UTF8.self) }
    public var errorOutput: String { String(decoding: standardError, as: UTF8.self) }

    /// This result when the program exited 0; otherwise `ProcessError.failed` with its
    /// standard error (or its standard output, when the error stream was empty).
    @discardableResult
    public func checked() throws -> ProcessResult {
        guard succeeded else { throw ProcessError.failed(self) }
        return self
    }
}

/// Why a program could not run, or how it failed.
public enum ProcessError: Error, CustomStringConvertible, Sendable {
    /// No executable of that name on PATH, or the path is not executable.
    case notFound(String)
    /// `posix_spawn` refused (a bad working directory, too many processes, …).
    case launchFailed(command: [String], reason: String)
    /// Ran, but exited non-zero, was killed, or timed out (from `ProcessResult.checked()`).
    case failed(ProcessResult)

    public var description: String {
        switch self {
        case .notFound(let tool):
            return "\(tool) is not installed (not found on PATH)"
        case .launchFailed(let command, let reason):
            return "cannot run \(command.joined(separator: " ")): \(reason)"
        case .failed(let result):
            let said = [result.errorOutput, result.output]
                .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                .first { !$0.isEmpty }
            let how = result.timedOut
                ? "timed out" : result.signalled ? "was killed by signal \(result.status)" : "exited \(result.status)"
            return "\(result.commandLine.joined(separator: " ")) \(how)\(said.map { ": \($0)" } ?? "")"
        }
    }
}
