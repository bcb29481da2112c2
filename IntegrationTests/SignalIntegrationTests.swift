import DomainXML
import Foundation
import Guestfs
import Libvirt
import ProcessRunner
import Testing
import VMSerialKit

extension Integration.HardeningIntegrationTests {
    @Test("SIGTERM during verify --reboots 3 cleans up as Ctrl-C does and exits 143: no probe domain, no run folder")
    func sigtermDuringVerify() throws {
        let vm = box.name("sigterm")
        try launch(vm)
        let runDir = box.dir + "/run"
        let p = try start(["verify", "--domain", vm, "--reboots", "3"], runDir: runDir)
        let dom = try box.connection.lookupDomain(name: vm)
        waitUntilActive(dom, while: p, timeout: .seconds(60))
        try #require(try dom.isActive, "the probe never started")
        p.signal(SIGTERM)
        let exit = p.wait()
        let stderr = exit.errorOutput
        #expect(!exit.signalled, "vmserial handled the signal instead of dying of it: \(stderr)")
        #expect(exit.status == 143, "\(stderr)")
        #expect(try !dom.isActive, "the probe domain was destroyed")
        #expect(try dom.isPersistent, "the VM's own definition is still there")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: runDir)) ?? []
        #expect(left.isEmpty, "run folders removed: \(left)")
        // A few seconds later: nothing started it again (on_reboot of a transient left running would).
        Thread.sleep(forTimeInterval: 3)
        #expect(try !dom.isActive)
    }

    /// CI runners and systemd send SIGTERM and, when the clean-up takes a while, often a second
    /// signal: that one must not end the process while the first one's clean-up runs.
    @Test("SIGTERM twice in guest mode: the clean-up still takes the reporter out of the disk, exit 143")
    func sigtermTwiceInGuestMode() throws {
        let guestImage = Sandbox.guestImage
        guard FileManager.default.fileExists(atPath: guestImage) else {
            Issue.record("\(guestImage) is missing: run `make images`")
            return
        }
        let vm = box.name("gterm")
        let image = "\(box.dir)/\(vm)-root.qcow2"
        try FileManager.default.copyItem(atPath: guestImage, toPath: image)
        let pvh = "\(packageRoot)/images/build/probe-vmlinux"
        let kernel = FileManager.default.fileExists(atPath: pvh) ? pvh : "\(packageRoot)/images/build/probe-vmlinuz"
        let spec = try box.spec(vm, disks: [.init(name: "root", bus: "virtio", file: "\(vm)-root.qcow2")], extra: [
            "boot": ["kernel": kernel, "initrd": "\(packageRoot)/images/build/probe-initrd.img",
                     "cmdline": "console=ttyS0 quiet vmserial.mode=boot root=LABEL=vmroot"],
        ])
        let l = try box.vmserial("launch", spec, "--no-start")
        try #require(l.status == 0, "\(l.all)")
        let runDir = box.dir + "/run"
        let p = try start(["verify", "--domain", vm, "--mode", "guest", "--reboots", "2"], runDir: runDir)
        let dom = try box.connection.lookupDomain(name: vm)
        // Running, not just there: its QEMU waits paused while the appliance installs the reporter.
        waitUntilRunning(dom, while: p, timeout: .seconds(300))
        try #require(try dom.state() == .running, "the guest never started")
        p.signal(SIGTERM)
        // The clean-up starts an appliance to remove the reporter (seconds under TCG): signal again meanwhile.
        _ = p.wait(timeout: .seconds(2))
        p.signal(SIGTERM)
        let exit = p.wait()
        let stderr = exit.errorOutput
        #expect(exit.status == 143, "\(stderr)")
        #expect(try !dom.isActive, "the guest was stopped")
        #expect(stderr.contains("removing the reporter"), "\(stderr)")
        let left = try withGuestRoot(image, readonly: true) { g in
            try [GuestReporter.scriptPath, GuestReporter.initdHookPath, GuestReporter.planPath].filter { try g.exists($0) }
        }
        #expect(left.isEmpty, "the reporter was removed: \(left)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: runDir)) ?? []).isEmpty)
    }
}
