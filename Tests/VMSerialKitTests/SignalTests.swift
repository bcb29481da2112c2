import Foundation
import ProcessRunner
import TestSupport
import Testing
@testable import VMSerialKit

@Suite struct SignalTests {
    @Test("a signal's exit status is 128 + its number: SIGINT 130, SIGTERM 143")
    func signalStatus() {
        #expect(Interrupts.status(for: SIGINT) == 130)
        #expect(Interrupts.status(for: SIGTERM) == 143)
    }

    /// With SIG_IGN in vmserial, every child ignored SIGINT and SIGTERM (ignored dispositions
    /// survive execve), so `RunningProcess.terminate()` could not stop a qemu-img.
    @Test("with the CLI's signal handling installed, a child starts with SIGINT and SIGTERM neither ignored nor blocked")
    func childSignalsAtDefault() throws {
        Interrupts.shared.install()
        // grep reads its own status: a shell reading its own would catch the full mask dash
        // holds while it vforks.
        let status = try Command("grep", ["-E", "^Sig(Ign|Blk):", "/proc/self/status"]).run().checked().output
        let child = try #require(SignalMasks(procStatus: status), "\(status)")
        for sig in [SIGINT, SIGTERM] {
            #expect(!child.ignores(sig), "signal \(sig) ignored in the child: \(status)")
            #expect(!child.blocks(sig), "signal \(sig) blocked in the child: \(status)")
        }
        #expect(!Interrupts.shared.interrupted, "installing is not an interrupt")
    }
}
