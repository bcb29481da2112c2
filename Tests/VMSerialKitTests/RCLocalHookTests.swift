import Foundation
import ProcessRunner
import Testing
@testable import VMSerialKit

/// The reporter's hook for guests whose only boot hook is /etc/rc.local.
@Suite("rc.local hook")
struct RCLocalHookTests {
    static let hookLines = GuestReporter.rcLocalHook.split(separator: "\n").map(String.init)
    static let debianStyle = "#!/bin/sh -e\n#\n# rc.local\n\necho before\n\nexit 0\n"

    @Test("the hook goes right before the final exit 0; added twice it is there once; removed, the file is as it was")
    func insertAndRemove() {
        let hooked = ReporterInstaller.withRCLocalHook(Self.debianStyle)
        #expect(hooked == "#!/bin/sh -e\n#\n# rc.local\n\necho before\n\n" + Self.hookLines.joined(separator: "\n") + "\nexit 0\n")
        #expect(ReporterInstaller.withRCLocalHook(hooked) == hooked)
        #expect(ReporterInstaller.withoutRCLocalHook(hooked) == Self.debianStyle)
        #expect(Self.hookLines.allSatisfy { $0.contains(GuestReporter.rcLocalMarker) })
    }

    @Test("without an exit 0 the hook goes at the end; an empty file gets a shell line first")
    func noExitAndEmpty() {
        #expect(ReporterInstaller.withRCLocalHook("#!/bin/sh\necho x\n") == "#!/bin/sh\necho x\n" + Self.hookLines.joined(separator: "\n") + "\n")
        #expect(ReporterInstaller.withRCLocalHook("") == "#!/bin/sh\n" + Self.hookLines.joined(separator: "\n") + "\n")
    }

    /// Runs the hooked rc.local under `sh -e`, the hook pointing at `reporter` instead of the
    /// installed path (the only change: the line's logic is what is tested).
    func runHooked(reporter: String) throws -> ProcessResult {
        let folder = NSTemporaryDirectory() + "vmserial-rclocal-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let text = ReporterInstaller.withRCLocalHook(Self.debianStyle)
            .replacingOccurrences(of: GuestReporter.scriptPath, with: reporter)
        try text.write(toFile: folder + "/rc.local", atomically: true, encoding: .utf8)
        return try Command("/bin/sh", ["-e", folder + "/rc.local"]).run()
    }

    @Test("under sh -e a missing reporter does not stop rc.local")
    func missingReporter() throws {
        let result = try runHooked(reporter: "/nonexistent/vmserial-report")
        #expect(result.succeeded, "\(result.errorOutput)")
        #expect(result.output == "before\n")
    }

    @Test("the reporter runs with the argument rclocal, and its failure does not stop rc.local")
    func failingReporter() throws {
        let fake = NSTemporaryDirectory() + "vmserial-fake-reporter-\(UUID().uuidString)"
        try "#!/bin/sh\necho \"reporter $*\"\nexit 3\n".write(toFile: fake, atomically: true, encoding: .utf8)
        chmod(fake, 0o755)
        defer { try? FileManager.default.removeItem(atPath: fake) }
        let result = try runHooked(reporter: fake)
        #expect(result.succeeded, "\(result.errorOutput)")
        #expect(result.output == "before\nreporter rclocal\n")
    }
}
