import Foundation
import Testing
@testable import ProcessRunner

@Suite("waitForExit")
struct ProcessExitTests {
    /// Both ways of waiting: the pidfd (the one vmserial uses on this kernel) and the /proc loop
    /// kept for kernels without pidfd_open.
    static let waits: [(String, @Sendable (Int32, Duration) -> Bool)] = [
        ("pidfd", { waitForExit($0, timeout: $1) }),
        ("/proc", { pollProcForExit($0, timeout: $1) }),
    ]

    @Test("a live process: false once the timeout has passed; after SIGKILL: true", arguments: [0, 1])
    func liveThenKilled(_ index: Int) throws {
        let (name, wait) = Self.waits[index]
        let running = try Command("sleep", ["600"]).start()
        defer { running.terminate() }
        #expect(wait(running.pid, .milliseconds(300)) == false, "\(name): sleep 600 still runs")
        #expect(running.isRunning, "\(name): the wait did not end the process")
        running.signal(SIGKILL)
        // The timeout is only a bound for a broken wait: an exit is seen at once.
        #expect(wait(running.pid, .seconds(120)) == true, "\(name): the exit was seen")
        #expect(running.wait().status == SIGKILL)
    }

    @Test("a process that is gone (reaped) counts as exited", arguments: [0, 1])
    func alreadyGone(_ index: Int) throws {
        let (name, wait) = Self.waits[index]
        let finished = try Command("true").start()
        let pid = finished.pid
        finished.wait()
        #expect(wait(pid, .seconds(120)) == true, "\(name)")
    }
}
