import Foundation
import Testing
@testable import VMSerialKit
import ProcessRunner

/// Run folders and the disk servers' sockets: reachable by the QEMU libvirt starts, by no one else.
@Suite struct RunFolderTests {
    /// Debian's libvirt-qemu, which qemu:///system runs QEMU as (not root, not vmserial).
    static let debianQemu = QemuIdentity(uid: 64055, gid: 64055, source: "test")
    static var isRoot: Bool { geteuid() == 0 }

    func base() throws -> String {
        let dir = NSTemporaryDirectory() + "vmserial-runtest-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func mode(_ path: String) -> (mode: mode_t, uid: uid_t, gid: gid_t) {
        var st = stat()
        #expect(lstat(path, &st) == 0, "\(path) exists")
        return (st.st_mode & 0o7777, st.st_uid, st.st_gid)
    }

    @Test("QEMU as this process: the run folder is 0700")
    func privateFolder() throws {
        let b = try base()
        defer { try? FileManager.default.removeItem(atPath: b) }
        let run = try RunDirectory(label: "t", qemu: .current, base: b)
        defer { run.remove() }
        #expect(mode(run.root).mode == 0o700)
    }

    @Test("QEMU as another user: the run folder is 0750 with QEMU's group", .enabled(if: isRoot))
    func qemuGroupFolder() throws {
        let b = try base()
        defer { try? FileManager.default.removeItem(atPath: b) }
        let run = try RunDirectory(label: "t", qemu: Self.debianQemu, base: b)
        defer { run.remove() }
        let m = mode(run.root)
        #expect(m.mode == 0o750)
        #expect(m.gid == 64055)
        #expect(m.uid == geteuid())
    }

    @Test("QEMU identity from libvirt's capabilities, qemu.conf and DAC labels")
    func identitySources() throws {
        let caps = """
        <capabilities><host><uuid>x</uuid>
          <secmodel><model>none</model><doi>0</doi></secmodel>
          <secmodel><model>dac</model><doi>0</doi><baselabel type='kvm'>+64055:+107</baselabel><baselabel type='qemu'>+64055:+64055</baselabel></secmodel>
        </host></capabilities>
        """
        #expect(QemuIdentity.fromCapabilities(caps, domainType: "qemu").map { [$0.uid, $0.gid] } == [64055, 64055])
        #expect(QemuIdentity.fromCapabilities(caps, domainType: "kvm").map { [$0.uid, $0.gid] } == [64055, 107])
        #expect(QemuIdentity.fromCapabilities("<capabilities><host/></capabilities>", domainType: nil) == nil)
        #expect(QemuIdentity.fromQemuConf("#user = \"libvirt-qemu\"\n#group = \"kvm\"\n") == nil)
        #expect(QemuIdentity.fromQemuConf("user = \"+1234\"\ngroup = \"+4321\"\n").map { [$0.uid, $0.gid] } == [1234, 4321])
        #expect(QemuIdentity.parse(label: "+0:+0", source: "t").map { [$0.uid, $0.gid] } == [0, 0])
        #expect(QemuIdentity.parse(label: "root:root", source: "t").map { [$0.uid, $0.gid] } == [0, 0])
        #expect(QemuIdentity.parse(label: "no-such-user-here", source: "t") == nil)
    }

    /// The sockets give read and write access to the guest's disk: QEMU's user connects, another
    /// local user does not (tried with qemu-img as each, not read back from our own chmod).
    @Test("a disk server's socket: 0660 with QEMU's group; QEMU's user connects, nobody else does", .enabled(if: isRoot))
    func socketReachableByQemuOnly() throws {
        let b = try base()
        chmod(b, 0o755)
        defer { try? FileManager.default.removeItem(atPath: b) }
        let image = b + "/disk.img"
        #expect(try runTool("/usr/bin/qemu-img", ["create", "-q", "-f", "raw", image, "1M"]).status == 0)
        let run = try RunDirectory(label: "t", qemu: Self.debianQemu, base: b)
        defer { run.remove() }
        let servers = try DiskServers(drives: [(image, "raw", false)], run: run)
        defer { servers.stop() }
        let socket = try #require(servers.served.first?.socket)
        let m = mode(socket)
        #expect(m.mode & 0o777 == 0o660)
        #expect(m.gid == 64055)
        let url = "nbd+unix:///?socket=\(socket)"
        let asQemu = try runTool("/usr/sbin/runuser", ["-u", "libvirt-qemu", "--", "qemu-img", "info", "-U", url])
        #expect(asQemu.status == 0, "QEMU's user reaches the disk: \(asQemu.output)")
        let asNobody = try runTool("/usr/sbin/runuser", ["-u", "nobody", "--", "qemu-img", "info", "-U", url])
        #expect(asNobody.status != 0, "another local user must not reach the disk: \(asNobody.output)")
    }
}

func runTool(_ tool: String, _ args: [String]) throws -> (status: Int32, output: String) {
    let result = try Command(tool, args).run()
    return (result.status, result.output + result.errorOutput)
}
