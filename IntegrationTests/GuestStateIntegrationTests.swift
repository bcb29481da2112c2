import DomainXML
import Foundation
import Guestfs
import Libvirt
import Testing
import VMSerialKit

extension Integration.HardeningIntegrationTests {
    @Test("guest mode keeps the guest's own /var/lib/vmserial, and removes only the reporter's files from its folder")
    func guestStateIsNotTheReporters() throws {
        let guestImage = Sandbox.guestImage
        guard FileManager.default.fileExists(atPath: guestImage) else {
            Issue.record("\(guestImage) is missing: run `make images`")
            return
        }
        let vm = box.name("gstate")
        let image = "\(box.dir)/\(vm)-root.qcow2"
        try FileManager.default.copyItem(atPath: guestImage, toPath: image)
        // A guest that runs vmserial itself keeps its registry where vmserial does on a host.
        try withGuestRoot(image, readonly: false) { g in
            try g.mkdirP("/var/lib/vmserial")
            try g.write("/var/lib/vmserial/registry.sqlite", "the guest's own registry")
            try g.mkdirP(GuestReporter.stateDirectory)
            try g.write(GuestReporter.stateDirectory + "/notes.txt", "not the reporter's")
        }
        let pvh = "\(packageRoot)/images/build/probe-vmlinux"
        let kernel = FileManager.default.fileExists(atPath: pvh) ? pvh : "\(packageRoot)/images/build/probe-vmlinuz"
        let spec = try box.spec(vm, disks: [.init(name: "root", bus: "virtio", file: "\(vm)-root.qcow2")], extra: [
            "boot": ["kernel": kernel, "initrd": "\(packageRoot)/images/build/probe-initrd.img",
                     "cmdline": "console=ttyS0 quiet vmserial.mode=boot root=LABEL=vmroot"],
        ])
        let l = try box.vmserial("launch", spec, "--no-start")
        try #require(l.status == 0, "\(l.all)")

        let r = try box.vmserial("verify", "--domain", vm, "--mode", "guest")
        #expect(r.status == 0, "\(r.all)")
        let (registry, notes, reporterFiles) = try withGuestRoot(image, readonly: true) { g in
            (try g.exists("/var/lib/vmserial/registry.sqlite") ? try g.readText("/var/lib/vmserial/registry.sqlite") : nil,
             try g.exists(GuestReporter.stateDirectory + "/notes.txt") ? try g.readText(GuestReporter.stateDirectory + "/notes.txt") : nil,
             try g.ls(GuestReporter.stateDirectory))
        }
        #expect(registry == "the guest's own registry")
        #expect(notes == "not the reporter's")
        #expect(reporterFiles == ["notes.txt"], "the reporter's plan and reports are gone, the rest stays")
    }
}
