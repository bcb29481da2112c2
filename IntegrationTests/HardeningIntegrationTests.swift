import DomainXML
import Foundation
import Guestfs
import Libvirt
import Testing
import VMSerialKit
import ProcessRunner

/// Issue 13 (hardening), end to end with the real binary: signals, run folders, the guest's
/// own /var/lib/vmserial.
extension Integration {
@Suite
final class HardeningIntegrationTests {
    let box: Sandbox

    init() throws { box = try Sandbox() }

    func launch(_ vm: String) throws {
        let r = try box.vmserial("launch", try box.spec(vm, disks: [.init(name: "root", bus: "virtio")]), "--no-start")
        #expect(r.status == 0, "\(r.all)")
    }

    /// Starts `vmserial ARGS` in the background, with this sandbox's registry and a run folder of its own.
    func start(_ args: [String], runDir: String) throws -> RunningProcess {
        try startVmserial(args, env: ["VMSERIAL_REGISTRY": box.registry, "VMSERIAL_RUN_DIR": runDir, "VMSERIAL_ACCEL": "tcg"],
                          standardError: .capture)
    }

    @Test("a probe run folder is 0750 with QEMU's group (0700 when QEMU runs as vmserial) and the probe still boots")
    func runFolderMode() throws {
        let vm = box.name("runmode")
        try launch(vm)
        let runDir = box.dir + "/run"
        let p = try start(["verify", "--domain", vm], runDir: runDir)
        let dom = try box.connection.lookupDomain(name: vm)
        // The transient probe runs under the VM's own name and UUID; the persistent domain stays shut off.
        waitUntilActive(dom, while: p, timeout: .seconds(60))
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: runDir)) ?? []
        var seen: [(mode: mode_t, gid: gid_t)] = []
        for f in folders {
            var st = stat()
            if lstat(runDir + "/" + f, &st) == 0 { seen.append((st.st_mode & 0o777, st.st_gid)) }
        }
        let exit = p.wait()
        let stderr = exit.errorOutput
        #expect(exit.status == 0, "\(stderr)")
        let qemu = QemuIdentity.of(box.connection)
        try #require(seen.count == 1, "one run folder while the probe ran: \(folders)")
        if qemu.isCurrentUser {
            #expect(seen[0].mode == 0o700)
        } else {
            #expect(seen[0].mode == 0o750)
            #expect(seen[0].gid == qemu.gid)
        }
    }
}
}
