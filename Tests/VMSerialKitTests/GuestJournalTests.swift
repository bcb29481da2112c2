import Foundation
import Libvirt
import Testing
@testable import VMSerialKit

/// The journal of a guest-mode verify, and what the run after a kill does with it.
@Suite struct GuestJournalTests {
    /// A qemu-nbd serving `image` read-only on `socket`, once its socket is there.
    static func server(_ image: String, socket: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-nbd")
        p.arguments = ["--persistent", "--shared=0", "--format=raw", "--read-only", "--socket=\(socket)", image]
        // Not on the test runner's output: a server left running would hold it open.
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: socket) { Thread.sleep(forTimeInterval: 0.02) }
        try #require(FileManager.default.fileExists(atPath: socket), "qemu-nbd serves \(socket)")
        return p
    }

    @Test("a journaled process is stopped only while its pid and start time both match; libguestfs' folders of the dead run go, other paths stay")
    func processesByPidAndStartTime() throws {
        let base = NSTemporaryDirectory() + "vmserial-stale-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let image = base + "/disk.img"
        #expect(FileManager.default.createFile(atPath: image, contents: Data(count: 1 << 20)))
        // Sockets outside the run folder: only the journal can name these servers.
        let ours = try Self.server(image, socket: base + "/ours.sock")
        let reused = try Self.server(image, socket: base + "/reused.sock")
        // SIGKILL: a server started from the test runner may ignore SIGTERM (an ignored signal is inherited).
        defer { for p in [ours, reused] where p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        let mark = try #require(ProcessMark.of(ours.processIdentifier, role: .diskServer))
        #expect(mark.isRunning)
        // The pid a dead run journaled now belongs to a process started at another time.
        var other = try #require(ProcessMark.of(reused.processIdentifier, role: .diskServer))
        other.start += 1
        #expect(!other.isRunning)
        // The right pid and start time, but not the program the role names.
        #expect(!ProcessMark(role: .appliance, pid: mark.pid, start: mark.start).isRunning)

        var template = Array("/tmp/libguestfsXXXXXX".utf8CString)
        let applianceFolder = String(cString: try #require(mkdtemp(&template)))
        defer { try? FileManager.default.removeItem(atPath: applianceFolder) }
        let notLibguestfs = base + "/precious"
        try FileManager.default.createDirectory(atPath: notLibguestfs, withIntermediateDirectories: false)

        let dead = try StaleStateTests.deadPID()
        let folder = "\(base)/vm-\(dead)-9"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        var j = Journal(kind: .verifyGuest, domain: "nowhere-\(UUID())")
        j.reporter = false
        j.processes = [mark, other]
        j.applianceFolders = [applianceFolder, notLibguestfs]
        try JSONEncoder().encode(j).write(to: URL(fileURLWithPath: folder + "/" + Journal.fileName))

        var lines: [String] = []
        StaleState.sweep(connection: try Connection(uri: "test:///default"), base: base) { lines.append($0) }
        for _ in 0..<100 where ours.isRunning { Thread.sleep(forTimeInterval: 0.05) }
        #expect(!ours.isRunning, "the dead run's own server was stopped")
        #expect(reused.isRunning, "a process that got a journaled pid later is left alone")
        #expect(!FileManager.default.fileExists(atPath: applianceFolder), "libguestfs' folder of the dead appliance went")
        #expect(FileManager.default.fileExists(atPath: notLibguestfs), "a path that is not libguestfs' stays")
        #expect(!FileManager.default.fileExists(atPath: folder))
        // The reporter was never written: no appliance starts (test:///default has no such domain to start one over).
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.contains("stopped its qemu-nbd server (pid \(mark.pid))") == true, "\(lines)")
        #expect(lines.first?.contains("removed the appliance's folder \(applianceFolder)") == true, "\(lines)")
        #expect(lines.first?.contains("reporter") == false, "\(lines)")
    }

    @Test("the reporter that may be on the disk and cannot be taken out: the journal stays for the next run, which says so")
    func reporterKeptForNextRun() throws {
        let base = NSTemporaryDirectory() + "vmserial-stale-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let dead = try StaleStateTests.deadPID()
        let folder = "\(base)/vm-\(dead)-3"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        var j = Journal(kind: .verifyGuest, domain: "nowhere-\(UUID())")
        j.reporter = true
        j.drives = [.init(path: base + "/gone.qcow2", format: "qcow2", readonly: false)]
        try JSONEncoder().encode(j).write(to: URL(fileURLWithPath: folder + "/" + Journal.fileName))
        var lines: [String] = []
        StaleState.sweep(connection: try Connection(uri: "test:///default"), base: base) { lines.append($0) }
        #expect(FileManager.default.fileExists(atPath: folder + "/" + Journal.fileName), "the journal stays")
        #expect(lines.last?.contains("kept its run folder") == true && lines.last?.contains("could not take vmserial's reporter out") == true, "\(lines)")
    }

    @Test("libguestfs' folders are read from an appliance's command line")
    func applianceFoldersFromCommandLine() {
        let args = ["/usr/bin/qemu-system-x86_64", "-drive", "file=/tmp/libguestfsAb12Cd/overlay1.qcow2,format=qcow2,if=none",
                    "-chardev", "socket,path=/run/user/0/libguestfsZz9Yy8/guestfsd.sock,id=channel0",
                    "-drive", "file=nbd:unix:/tmp/libguestfsAb12Cd/x.sock", "-kernel", "/var/tmp/.guestfs-0/appliance.d/kernel",
                    "-append", "root=/dev/sdb libguestfs.x=1 /tmp/libguestfs-not-one/y"]
        #expect(GuestJournal.applianceFolders(args) == ["/tmp/libguestfsAb12Cd", "/run/user/0/libguestfsZz9Yy8"])
    }

    @Test("a journal written before guest mode had one still loads")
    func oldJournalLoads() throws {
        let old = #"{"domain":"vm1","kind":"migrate","disk":"vda","target":"/images/vm1.qcow2","volume":"v"}"#
        let j = try JSONDecoder().decode(Journal.self, from: Data(old.utf8))
        #expect(j.kind == .migrate && j.target == "/images/vm1.qcow2" && j.reporter == nil && j.processes == nil)
    }
}
