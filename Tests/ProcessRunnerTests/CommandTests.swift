import Foundation
import ProcessRunner
import Testing

@Suite("Command")
struct CommandTests {
    @Test("standard output and error are captured apart, and a non-zero exit is a result")
    func captureAndStatus() throws {
        let result = try Command("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"]).run()
        #expect(result.status == 3)
        #expect(!result.signalled && !result.succeeded && !result.timedOut)
        #expect(result.output == "out\n")
        #expect(result.errorOutput == "err\n")
        let error = try #require(throws: ProcessError.self) { try result.checked() }
        #expect(error.description == "/bin/sh -c echo out; echo err >&2; exit 3 exited 3: err")
    }

    @Test("a child that fills both pipes at once finishes: both are read while it runs")
    func bothPipesFull() throws {
        // 1 MiB on each stream, far past a pipe's 64 KiB buffer.
        let result = try Command("/bin/sh", ["-c", "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2"]).run()
        #expect(result.succeeded)
        #expect(result.standardOutput.count == 1_048_576)
        #expect(result.standardError.count == 1_048_576)
    }

    @Test("standard input is fed from data, and is /dev/null by default")
    func input() throws {
        let text = String(repeating: "line of input\n", count: 10_000)
        let echoed = try Command("cat", input: .data(Data(text.utf8))).run()
        #expect(echoed.output == text)
        let empty = try Command("cat").run()
        #expect(empty.succeeded && empty.standardOutput.isEmpty)
    }

    @Test("the environment is replaced when given, inherited otherwise")
    func environment() throws {
        let given = try Command("/bin/sh", ["-c", "echo \"$VMSERIAL_RUNNER_TEST:$HOME\""],
                                environment: ["VMSERIAL_RUNNER_TEST": "set"]).run()
        #expect(given.output == "set:\n")
        let added = try Command("/bin/sh", ["-c", "echo \"$VMSERIAL_RUNNER_TEST\""],
                                environment: Command.environment(adding: ["VMSERIAL_RUNNER_TEST": "added"])).run()
        #expect(added.output == "added\n")
        let folder = try Command("pwd", currentDirectory: "/tmp").run()
        #expect(folder.output == "/tmp\n")
    }

    @Test("a program that is not there throws .notFound before anything runs")
    func notFound() throws {
        let error = try #require(throws: ProcessError.self) {
            try Command("vmserial-no-such-tool-\(UInt32.random(in: 0...UInt32.max))").run()
        }
        guard case .notFound = error else { Issue.record("got \(error)"); return }
    }

    @Test("a timeout stops the child with SIGTERM and says so")
    func timeout() throws {
        let result = try Command("sleep", ["600"], timeout: .milliseconds(200)).run()
        #expect(result.timedOut && result.terminatedByUs)
        #expect(result.signalled && result.status == SIGTERM)
        let error = try #require(throws: ProcessError.self) { try result.checked() }
        #expect(error.description.hasPrefix("sleep 600 timed out"))
    }

    @Test("a child that ignores SIGTERM gets SIGKILL after the grace period")
    func killAfterGrace() throws {
        // The shell ignores TERM, and `exec` hands that to sleep (ignored signals survive exec).
        let result = try Command("/bin/sh", ["-c", "trap '' TERM; exec sleep 600"],
                                 timeout: .milliseconds(200), terminationGrace: .milliseconds(200)).run()
        #expect(result.timedOut)
        #expect(result.signalled && result.status == SIGKILL)
    }

    @Test("output can go to a file or be streamed chunk by chunk")
    func fileAndStream() throws {
        let path = NSTemporaryDirectory() + "runner-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Command("/bin/sh", ["-c", "echo one; echo two >&2"], standardOutput: .file(path), standardError: .file(path))
            .run().checked()
        let written = try String(contentsOfFile: path, encoding: .utf8)
        #expect(written.split(separator: "\n").sorted() == ["one", "two"])

        let chunks = Chunks()
        let result = try Command("/bin/sh", ["-c", "for i in 1 2 3; do echo $i; sleep 0.05; done"],
                                 standardOutput: .stream { chunks.append($0) }).run()
        #expect(result.succeeded && result.standardOutput.isEmpty, "a streamed output is not kept")
        #expect(String(decoding: chunks.data, as: UTF8.self) == "1\n2\n3\n")
    }

    @Test("a started child can be signalled and waited for; wait(timeout:) is nil while it runs")
    func startSignalWait() throws {
        let running = try Command("sleep", ["600"]).start()
        #expect(running.isRunning)
        #expect(running.wait(timeout: .milliseconds(50)) == nil)
        running.signal(SIGINT)
        let result = running.wait()
        #expect(result.signalled && result.status == SIGINT)
        #expect(!result.terminatedByUs, "a signal is not a stop request")
        #expect(!running.isRunning)
        #expect(running.wait(timeout: .zero)?.status == SIGINT, "a second wait returns the same result")
    }

    @Test("cancelling an async run stops the child and throws CancellationError")
    func asyncCancel() async throws {
        // The child says it runs on its standard output; the test acts on that, not after a sleep.
        let (started, continuation) = AsyncStream.makeStream(of: Void.self)
        let task = Task {
            defer { continuation.finish() }
            return try await Command("/bin/sh", ["-c", "echo started; exec sleep 600"],
                                     standardOutput: .stream { _ in continuation.finish() }).run()
        }
        for await _ in started {}
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test("an async run returns the result like the synchronous one")
    func asyncRun() async throws {
        let result = try await Command("/bin/sh", ["-c", "echo hi; exit 4"]).run()
        #expect(result.status == 4 && result.output == "hi\n")
    }
}

final class Chunks: @unchecked Sendable {
    private let lock = NSLock()
    private var collected = Data()
    func append(_ data: Data) { lock.lock(); collected.append(data); lock.unlock() }
    var data: Data { lock.lock(); defer { lock.unlock() }; return collected }
}
