import DomainXML
import Foundation
import Libvirt
import Testing
import ProcessRunner

/// `vmserial verify`: real guests under QEMU (TCG here) report what they see from inside.
extension Integration {
@Suite
final class VerifyIntegrationTests {
    let box: Sandbox

    init() throws { box = try Sandbox() }

    func launch(_ vm: String, _ disks: [Sandbox.DiskSpec] = LaunchIntegrationTests.threeDisks, machine: String = "pc") throws -> [String: Any] {
        let r = try box.vmserial("launch", try box.spec(vm, disks: disks, machine: machine), "--no-start")
        #expect(r.status == 0, "\(r.all)")
        return try box.json(try box.vmserial("serials", "--domain", vm, "--json"))
    }

    @Test("the guest sees the registered serials across a guest reboot, a restart and a relaunch; images untouched")
    func verifyAcrossCycles() throws {
        let vm = box.name("cycles")
        let assigned = try launch(vm)
        let images = try box.definition(vm).devices.disks.compactMap(\.source)
        let sums = try images.map(box.sha256)
        let junit = box.dir + "/verify.xml"

        let r = try box.vmserial("verify", "--domain", vm, "--reboots", "2", "--relaunch", "--json", "--junit", junit)
        #expect(r.status == 0, "\(r.all)")
        let out = try box.json(r)
        #expect(out["ok"] as? Bool == true)
        let cycles = (out["cycles"] as? [[String: Any]]) ?? []
        #expect(cycles.map { $0["kind"] as? String ?? "" } == ["boot", "guest-reboot", "restart", "relaunch"])

        // What the guest saw must be what the registry holds (not merely "ok").
        let uuid = try #require(assigned["uuid"] as? String)
        let serials = assigned.disks.compactMap { $0["serial"] as? String }
        #expect(serials.count == 3)
        for c in 1...4 {
            let seen = checks(out).filter { $0.cycle == c }
            #expect(seen.count == 5, "cycle \(c): smbios serial, smbios uuid and 3 disks")
            #expect(seen.first { $0.what == "smbios serial" }?.seen == uuid)
            #expect(seen.first { $0.what == "smbios uuid" }?.seen == uuid)
            #expect(Set(seen.filter { $0.what.hasPrefix("disk ") }.map(\.seen)) == Set(serials))
        }
        #expect(try images.map(box.sha256) == sums, "verify must not write the guest's images")
        let active = try box.connection.lookupDomain(name: vm).isActive
        #expect(!active, "no probe left running")

        let report = try XElement.parse(try String(contentsOfFile: junit, encoding: .utf8))
        let cases = report.all("testsuite").flatMap { $0.all("testcase") }
        #expect(cases.count == 20)
        #expect(cases.allSatisfy { $0.first("failure") == nil })
    }

    @Test("q35 with virtio, scsi, sata and nvme: each disk is found by its address")
    func q35FourBuses() throws {
        let vm = box.name("q35")
        let assigned = try launch(vm, [
            .init(name: "a", bus: "virtio"), .init(name: "b", bus: "scsi"), .init(name: "c", bus: "sata"), .init(name: "d", bus: "nvme"),
        ], machine: "q35")
        let r = try box.vmserial("verify", "--domain", vm, "--json")
        #expect(r.status == 0, "\(r.all)")
        let seen = checks(try box.json(r))
        for name in ["a", "b", "c", "d"] {
            let want = try #require(assigned.disk(name)?["serial"] as? String)
            #expect(seen.first { $0.what.hasPrefix("disk \(name) ") }?.seen == want, "disk \(name)")
        }
    }

    @Test("SMBIOS modes reach the guest: none, custom on UEFI, host", arguments: [
        ("none", nil, "bios"), ("custom", "LICENCE-1234", "uefi"), ("host", nil, "bios"),
    ] as [(String, String?, String)])
    func smbiosModes(mode: String, serial: String?, firmware: String) throws {
        let vm = box.name("smbios-\(mode)")
        var smbios: [String: Any] = ["mode": mode]
        if let serial { smbios["serial"] = serial }
        let spec = try box.spec(vm, disks: [.init(name: "root", bus: "sata")],
                                extra: ["smbios": smbios, "boot": ["firmware": firmware]])
        let l = try box.vmserial("launch", spec, "--no-start")
        #expect(l.status == 0, "\(l.all)")
        let r = try box.vmserial("verify", "--domain", vm, "--json")
        #expect(r.status == 0, "\(r.all)")
        let seen = checks(try box.json(r)).first { $0.what == "smbios serial" }?.seen
        switch mode {
        case "none":
            #expect(seen == "")
        case "custom":
            #expect(seen == serial)
        default:
            let id = try String(contentsOfFile: "/etc/machine-id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(seen?.replacingOccurrences(of: "-", with: "") == id)
        }
    }

    /// Edits the libvirt definition behind vmserial's back.
    func tamper(_ vm: String, _ edit: (inout DomainXML.Domain) -> Void) throws {
        var d = try box.definition(vm)
        edit(&d)
        _ = try box.connection.defineDomain(xml: d.xml())
    }

    @Test("a disk serial changed behind vmserial's back fails, naming the disk and both values")
    func tamperedDiskSerial() throws {
        let vm = box.name("tamper")
        let assigned = try launch(vm)
        let want = try #require(assigned.disk("root")?["serial"] as? String)
        try tamper(vm) { d in d.devices.disks[0].serial = "CHANGED-BEHIND" }
        let r = try box.vmserial("verify", "--domain", vm)
        #expect(r.status == 1, "\(r.all)")
        #expect(r.stdout.contains("FAIL cycle 1 disk root"), "\(r.stdout)")
        #expect(r.stdout.contains("CHANGED-BEHIND") && r.stdout.contains(want), "\(r.stdout)")
    }

    @Test("an SMBIOS serial removed from the definition fails")
    func removedSMBIOSSerial() throws {
        let vm = box.name("nosmbios")
        _ = try launch(vm)
        try tamper(vm) { d in d.sysinfo?.system.removeAll { $0.name == "serial" } }
        let r = try box.vmserial("verify", "--domain", vm, "--json")
        #expect(r.status == 1, "\(r.all)")
        let failed = checks(try box.json(r)).filter { !$0.ok }
        #expect(failed.map(\.what) == ["smbios serial"])
        #expect(failed.first?.seen == "")
    }

    @Test("a scsi serial too long for the bus fails as truncated by the hypervisor")
    func scsiSerialTooLong() throws {
        let vm = box.name("long")
        _ = try launch(vm)
        let long = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789WXYZ"  // 40 > 36
        try tamper(vm) { d in
            if let i = d.devices.disks.firstIndex(where: { $0.targetBus == "scsi" }) { d.devices.disks[i].serial = long }
        }
        let r = try box.vmserial("verify", "--domain", vm)
        #expect(r.status == 1, "\(r.all)")
        #expect(r.stdout.contains("truncated by the hypervisor"), "\(r.stdout)")
        #expect(r.stdout.contains("disk data") && r.stdout.contains(long), "\(r.stdout)")
    }

    @Test("--keep leaves the run folder with each transient domain as libvirt got it, and the next run's sweep leaves it alone")
    func keepRunFolder() throws {
        let vm = box.name("keep")
        let assigned = try launch(vm, [.init(name: "root", bus: "virtio"), .init(name: "data", bus: "sata")])
        let images = try box.definition(vm).devices.disks.compactMap(\.source)
        let runs = box.dir + "/runs"
        try FileManager.default.createDirectory(atPath: runs, withIntermediateDirectories: true)
        chmod(runs, 0o755)
        let env = ["VMSERIAL_REGISTRY": box.registry, "VMSERIAL_RUN_DIR": runs]
        let r = try run(try vmserialBinary(), ["verify", "--domain", vm, "--reboots", "2", "--keep"], env: env)
        #expect(r.status == 0, "\(r.all)")
        let kept = try FileManager.default.contentsOfDirectory(atPath: runs).map { runs + "/" + $0 }
        try #require(kept.count == 1, "one kept folder: \(kept)")
        let folder = kept[0]
        #expect(r.stderr.contains("kept the run folder \(folder)"), "\(r.stderr)")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: folder))
        #expect(files.isSuperset(of: ["KEPT", "domain-1.xml", "domain-2.xml", "console.log", "report.txt"]), "\(files)")

        // What libvirt got: the registered serials, on copies inside the folder, never the images.
        let serials = Set(assigned.disks.compactMap { $0["serial"] as? String })
        for n in 1...2 {
            let def = try DomainXML.Domain(xml: String(contentsOfFile: "\(folder)/domain-\(n).xml", encoding: .utf8))
            #expect(Set(def.devices.disks.compactMap(\.serial)) == serials)
            let sources = def.devices.disks.compactMap(\.source)
            #expect(sources.count == 2 && sources.allSatisfy { $0.hasPrefix(folder + "/") }, "\(sources)")
            #expect(sources.allSatisfy { FileManager.default.fileExists(atPath: $0) } && Set(sources).isDisjoint(with: images))
        }

        // The owner of the kept folder is gone: without the KEPT marker the next run would sweep it.
        let again = try run(try vmserialBinary(), ["verify", "--domain", vm], env: env)
        #expect(again.status == 0, "\(again.all)")
        #expect(FileManager.default.fileExists(atPath: folder + "/domain-2.xml"), "the kept folder survives the next run")
        #expect(try FileManager.default.contentsOfDirectory(atPath: runs) == [(folder as NSString).lastPathComponent],
                "the next run's own folder is gone")
    }

    @Test("a guest that never reports fails after --timeout, and no probe is left running")
    func silentGuest() throws {
        let vm = box.name("silent")
        _ = try launch(vm, [.init(name: "root", bus: "virtio")])
        // A probe whose initramfs is empty: the kernel panics and never prints a report.
        let fake = box.dir + "/fake-images"
        try FileManager.default.createDirectory(atPath: fake, withIntermediateDirectories: true)
        chmod(fake, 0o755)
        try FileManager.default.copyItem(atPath: "\(packageRoot)/images/build/probe-vmlinuz", toPath: fake + "/probe-vmlinuz")
        _ = FileManager.default.createFile(atPath: fake + "/probe-initrd.img", contents: Data())
        let r = try run(try vmserialBinary(), ["verify", "--domain", vm, "--timeout", "20", "--junit", box.dir + "/silent.xml"],
                        env: ["VMSERIAL_REGISTRY": box.registry, "VMSERIAL_IMAGES": fake])
        #expect(r.status == 1, "\(r.all)")
        #expect(r.stdout.contains("sent 0 of 1 reports within 20 s"), "\(r.stdout)")
        #expect(try !box.connection.lookupDomain(name: vm).isActive, "the probe was destroyed")
        let junit = try XElement.parse(try String(contentsOfFile: box.dir + "/silent.xml", encoding: .utf8))
        #expect(junit[attribute: "errors"] == "1")
    }

    @Test("Ctrl-C during verify destroys the probe and removes its overlays")
    func interruptedVerify() throws {
        let vm = box.name("ctrlc")
        _ = try launch(vm, [.init(name: "root", bus: "virtio")])
        let runDir = box.dir + "/run"
        let p = try startVmserial(["verify", "--domain", vm],
                                  env: ["VMSERIAL_REGISTRY": box.registry, "VMSERIAL_RUN_DIR": runDir])
        let dom = try box.connection.lookupDomain(name: vm)
        waitUntilActive(dom, while: p, timeout: .seconds(30))
        try #require(try dom.isActive, "the probe never started")
        p.signal(SIGINT)
        #expect(p.wait().status == 130)
        #expect(try !dom.isActive, "the probe guest was destroyed")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: runDir)) ?? []
        #expect(left.isEmpty, "overlays and console files removed: \(left)")
        #expect(try box.definition(vm).devices.disks.first?.source?.hasPrefix(box.dir) == true, "the definition is untouched")
    }

    @Test("bad input exits 2: no such domain, no registry entry, a running domain, no probe image")
    func badInput() throws {
        let vm = box.name("input")
        _ = try launch(vm, [.init(name: "root", bus: "virtio")])

        let noDomain = try box.vmserial("verify", "--domain", "it-none-\(box.tag)")
        #expect(noDomain.status == 2)
        #expect(noDomain.stderr.contains("no record of it-none-\(box.tag)"), "\(noDomain.stderr)")

        try box.connection.lookupDomain(name: vm).undefine()
        let notInLibvirt = try box.vmserial("verify", "--domain", vm)
        #expect(notInLibvirt.status == 2)
        #expect(notInLibvirt.stderr.contains("has no domain \(vm)"), "\(notInLibvirt.stderr)")
        _ = try box.vmserial("launch", box.dir + "/\(vm).json", "--no-start")

        let noProbe = try run(try vmserialBinary(), ["verify", "--domain", vm],
                              env: ["VMSERIAL_REGISTRY": box.registry, "VMSERIAL_IMAGES": box.dir + "/nothing-here"])
        #expect(noProbe.status == 2)
        #expect(noProbe.stderr.contains("make images"), "\(noProbe.stderr)")

        let started = try box.vmserial("launch", box.dir + "/\(vm).json")
        #expect(started.status == 0, "\(started.all)")
        let running = try box.vmserial("verify", "--domain", vm)
        #expect(running.status == 2, "\(running.all)")
        #expect(running.stderr.contains("is running") && running.stderr.contains("--force-restart"), "\(running.stderr)")
    }
}
}
