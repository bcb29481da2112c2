import Foundation
import Testing
@testable import VMSerialKit

/// The report loop's wake-up: the kernel's inotify events for the watched file end a wait,
/// events for other files of the folder do not, a file made anew (as virtlogd does) is still
/// seen, and `wake()` ends a wait from another thread.
@Suite struct FileWakeTests {
    func folder() throws -> String {
        let dir = NSTemporaryDirectory() + "vmserial-wake-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("a write to the file ends the wait; a write to another file of the folder does not")
    func writesWake() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = "\(dir)/report.txt", console = "\(dir)/console.log"
        for f in [report, console] { #expect(FileManager.default.createFile(atPath: f, contents: nil)) }
        let wake = try FileWake(watching: report)
        try Data("boot noise\n".utf8).write(to: URL(fileURLWithPath: console))
        #expect(wake.wait(seconds: 0.3) == false)
        let h = try #require(FileHandle(forWritingAtPath: report))
        h.write(Data("VMSERIAL-REPORT-BEGIN\n".utf8))
        try h.close()
        #expect(wake.wait(seconds: 10) == true)
    }

    @Test("the file removed and created anew (libvirt's way) still wakes the wait")
    func recreatedFile() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = "\(dir)/report.txt"
        #expect(FileManager.default.createFile(atPath: report, contents: nil))
        let wake = try FileWake(watching: report)
        try FileManager.default.removeItem(atPath: report)
        _ = wake.wait(seconds: 0.1)  // the removal itself is no write
        #expect(FileManager.default.createFile(atPath: report, contents: Data("x\n".utf8)))
        #expect(wake.wait(seconds: 10) == true)
    }

    @Test("wake() from another thread ends a wait; with nothing happening the wait times out")
    func wakeByHand() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = "\(dir)/report.txt"
        #expect(FileManager.default.createFile(atPath: report, contents: nil))
        let wake = try FileWake(watching: report)
        #expect(wake.wait(seconds: 0.2) == false)
        Thread.detachNewThread { wake.wake() }
        #expect(wake.wait(seconds: 10) == true)
    }

    @Test("a folder that does not exist is an error naming it")
    func missingFolder() {
        #expect(throws: VMSerialError.self) { try FileWake(watching: "/nonexistent-vmserial-\(getpid())/report.txt") }
    }
}
