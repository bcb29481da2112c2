import DomainXML
import Foundation
import Guestfs
import Libvirt
import Testing
import VMSerialKit
import ProcessRunner

/// `vmserial verify --mode guest`: the small Linux guest from images/ (busybox init, its own
/// /dev/disk/by-id) boots from its own disk; libguestfs installs the reporter before and
/// removes it after.
extension Integration {
@Suite
final class GuestVerifyIntegrationTests {
    let box: Sandbox

    init() throws { box = try Sandbox() }

    @Test("guest mode: the guest's own OS sees the registered serials and by-id names across a reboot and an offline migration; the reporter is gone afterwards")
    func guestModeAcrossRebootAndMigration() throws {
        let vm = box.name("guest")
        let assigned = try box.launchGuest(vm, extra: [
            .init(name: "data", bus: "scsi"),
            .init(name: "logs", bus: "sata"),
        ])
        let newHome = box.dir + "/moved"
        try FileManager.default.createDirectory(atPath: newHome, withIntermediateDirectories: true)
        chmod(newHome, 0o755)

        let r = try box.vmserial("verify", "--domain", vm, "--mode", "guest", "--reboots", "1", "--migrate-to", newHome, "--json")
        #expect(r.status == 0, "\(r.all)")
        let out = try box.json(r)
        #expect(out["ok"] as? Bool == true)
        #expect(out["mode"] as? String == "guest")
        // A migration moves the files, so the guest boots on them and the appliance starts twice.
        #expect((out["appliance"] as? [String: Any])?["diskAccess"] as? String == "files", "\(r.stdout)")
        #expect((out["appliance"] as? [String: Any])?["starts"] as? Int == 2, "\(r.stdout)")
        let cycles = (out["cycles"] as? [[String: Any]]) ?? []
        #expect(cycles.map { $0["kind"] as? String ?? "" } == ["boot", "guest-reboot", "migrate-offline"])

        let uuid = try #require(assigned["uuid"] as? String)
        let serials = assigned.disks.compactMap { d -> (String, String)? in
            guard let n = d["name"] as? String, let s = d["serial"] as? String else { return nil }
            return (n, s)
        }
        #expect(serials.count == 3)
        for c in 1...3 {
            let seen = checks(out).filter { $0.cycle == c }
            #expect(seen.first { $0.what == "smbios serial" }?.seen == uuid)
            #expect(seen.first { $0.what == "smbios uuid" }?.seen == uuid)
            for (name, serial) in serials {
                #expect(seen.first { $0.what.hasPrefix("disk \(name) ") && $0.what.hasSuffix(" serial") }?.seen == serial, "cycle \(c) disk \(name)")
                // by-id names built by the guest's own userland from what its kernel read.
                let byID = seen.first { $0.what.hasPrefix("disk \(name) ") && $0.what.hasSuffix(" by-id") }
                #expect(byID?.ok == true && byID?.seen.hasSuffix(serial) == true, "cycle \(c) disk \(name) by-id: \(String(describing: byID))")
            }
            // The copy the reporter left on the disk was read back and equals the serial port's.
            #expect(seen.contains { $0.what.hasPrefix("report on the guest's disk") && $0.ok }, "cycle \(c)")
        }
        // The disks now live in the new folder, and the reporter is not on the migrated root disk.
        let sources = try box.definition(vm).devices.disks.compactMap(\.source)
        #expect(sources.allSatisfy { $0.hasPrefix(newHome + "/") }, "\(sources)")
        let root = try #require(sources.first { $0.contains("root") })
        #expect(try box.reporterLeftovers(root) == [])
        let active = try box.connection.lookupDomain(name: vm).isActive
        #expect(!active)
    }

    @Test("guest mode on served disks: one appliance start for a guest reboot and a relaunch, the guest's writes reach the image intact, no disk server is left")
    func guestModeServedOneAppliance() throws {
        let vm = box.name("served")
        let assigned = try box.launchGuest(vm, extra: [.init(name: "data", bus: "scsi")])
        let image = try #require(try box.definition(vm).devices.disks.first?.source)

        let r = try box.vmserial("verify", "--domain", vm, "--mode", "guest", "--reboots", "1", "--relaunch", "--json")
        #expect(r.status == 0, "\(r.all)")
        let out = try box.json(r)
        #expect(out["ok"] as? Bool == true)
        let cycles = (out["cycles"] as? [[String: Any]]) ?? []
        #expect(cycles.map { $0["kind"] as? String ?? "" } == ["boot", "guest-reboot", "relaunch"])
        // Install, three boots and read-back through one appliance, over disks qemu-nbd serves.
        let appliance = out["appliance"] as? [String: Any]
        #expect(appliance?["diskAccess"] as? String == "served", "\(r.stdout)")
        #expect(appliance?["starts"] as? Int == 1, "\(r.stdout)")
        // The image's fstab names its root by LABEL=: the quick look finds it, no full inspection.
        #expect(appliance?["osFoundBy"] as? String == "quick look", "\(r.stdout)")
        let serial = try #require(assigned.disk("data")?["serial"] as? String)
        for c in 1...3 {
            let seen = checks(out).filter { $0.cycle == c }
            #expect(seen.first { $0.what.hasPrefix("disk data ") && $0.what.hasSuffix(" serial") }?.seen == serial, "cycle \(c)")
            // What the guest wrote through the server was read back by the appliance after its caches were dropped.
            #expect(seen.contains { $0.what.hasPrefix("report on the guest's disk") && $0.ok }, "cycle \(c): \(seen)")
        }
        // The servers are gone (they would hold the image's lock), and the image is consistent.
        let servers = try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap { pid -> String? in
            guard Int(pid) != nil, let cmd = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { return nil }
            return cmd.hasPrefix("/usr/bin/qemu-nbd") || cmd.contains("qemu-nbd\0") ? cmd : nil
        }.filter { $0.contains(box.dir) }
        #expect(servers.isEmpty, "\(servers)")
        let check = try run("qemu-img", ["check", image])
        #expect(check.status == 0, "\(check.all)")
        #expect(try box.reporterLeftovers(image) == [])
        #expect(try box.definition(vm).devices.disks.allSatisfy { $0.type == "file" }, "the persistent definition keeps its files")
    }

    @Test("guest mode on disks without an OS exits 2, says why, and writes nothing to them")
    func guestModeWithoutAnOS() throws {
        let vm = box.name("blank")
        let r0 = try box.vmserial("launch", try box.spec(vm, disks: [.init(name: "root", bus: "virtio")]), "--no-start")
        #expect(r0.status == 0, "\(r0.all)")
        let image = try #require(try box.definition(vm).devices.disks.first?.source)
        let before = try box.sha256(image)
        let r = try box.vmserial("verify", "--domain", vm, "--mode", "guest")
        #expect(r.status == 2, "\(r.all)")
        #expect(r.stderr.contains("finds no operating system") && r.stderr.contains("--mode probe"), "\(r.stderr)")
        #expect(try box.sha256(image) == before)
    }

    @Test("guest mode creates the first boot's QEMU paused while the appliance installs the reporter; resumed, the guest boots with the reporter and reports")
    func guestModeStartsQEMUEarly() throws {
        let vm = box.name("early")
        _ = try box.launchGuest(vm, extra: [.init(name: "data", bus: "sata")])
        let errFile = box.dir + "/early.stderr"
        let p = try startVmserial(["verify", "--domain", vm, "--mode", "guest"],
                                  env: ["VMSERIAL_REGISTRY": box.registry, "VMSERIAL_ACCEL": "tcg"],
                                  standardError: .file(errFile))
        let dom = try box.connection.lookupDomain(name: vm)
        waitUntilActive(dom, while: p, timeout: .seconds(300))
        // Seen at once: the domain is there, its CPUs stopped, before vmserial boots the guest.
        let first = try dom.state()
        let said = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
        let exit = p.wait()
        let all = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
        #expect(first == .paused, "the first boot's QEMU waits paused: \(first)\n\(said)")
        #expect(!said.contains("booting the guest"), "paused before the boot phase:\n\(said)")
        // The guest read the reporter the appliance wrote after its QEMU had started (served disks:
        // QEMU keeps no copy of what it read), ran it and powered off.
        #expect(exit.status == 0, "\(all)")
        #expect(all.contains("booting the guest") && all.contains("reports removed"), "\(all)")
        #expect(try !dom.isActive)
    }

    @Test("Ctrl-C while the guest runs: exit 130, the guest is stopped, the reporter is taken out of its disk")
    func interruptedGuestMode() throws {
        let vm = box.name("gctrlc")
        _ = try box.launchGuest(vm, extra: [])
        let image = try #require(try box.definition(vm).devices.disks.first?.source)
        // Three boots planned: the guest is still busy when it is interrupted.
        let p = try startVmserial(["verify", "--domain", vm, "--mode", "guest", "--reboots", "2"],
                                  env: ["VMSERIAL_REGISTRY": box.registry, "VMSERIAL_ACCEL": "tcg"],
                                  standardError: .capture)
        let dom = try box.connection.lookupDomain(name: vm)
        // The appliance installs the reporter first (tens of seconds under TCG), then the guest's
        // CPUs start (its QEMU waits paused meanwhile).
        waitUntilRunning(dom, while: p, timeout: .seconds(300))
        try #require(try dom.state() == .running, "the guest never started")
        p.signal(SIGINT)
        let exit = p.wait()
        let stderr = exit.errorOutput
        #expect(exit.status == 130, "\(stderr)")
        #expect(try !dom.isActive, "the guest was stopped")
        #expect(stderr.contains("removing the reporter"), "\(stderr)")
        #expect(try box.reporterLeftovers(image) == [])
    }
}
}

extension Sandbox {
    static let guestImage = "\(packageRoot)/images/build/guest.qcow2"

    /// A VM whose root disk is a copy of the guest image, booted by the probe kernel with root= on it.
    func launchGuest(_ vm: String, extra: [Sandbox.DiskSpec]) throws -> [String: Any] {
        guard FileManager.default.fileExists(atPath: Self.guestImage) else {
            Issue.record("\(Self.guestImage) is missing: run `make images`")
            throw CancellationError()
        }
        let root = "\(vm)-root.qcow2"
        try FileManager.default.copyItem(atPath: Self.guestImage, toPath: "\(dir)/\(root)")
        var disks = [Sandbox.DiskSpec(name: "root", bus: "virtio", file: root)]
        disks += extra
        // The uncompressed PVH kernel boots faster under TCG; the bzImage where it was not built.
        let pvh = "\(packageRoot)/images/build/probe-vmlinux"
        let kernel = FileManager.default.fileExists(atPath: pvh) ? pvh : "\(packageRoot)/images/build/probe-vmlinuz"
        let path = try spec(vm, disks: disks, extra: [
            "boot": ["kernel": kernel, "initrd": "\(packageRoot)/images/build/probe-initrd.img",
                     "cmdline": "console=ttyS0 quiet vmserial.mode=boot root=LABEL=vmroot"],
        ])
        let r = try vmserial("launch", path, "--no-start")
        #expect(r.status == 0, "\(r.all)")
        return try json(try vmserial("serials", "--domain", vm, "--json"))
    }

    /// What of the reporter is on a guest's root disk (read-only look, as a user would check).
    /// `isRoot` proves the look is at the right filesystem (by default: the small guest's own init scripts).
    func reporterLeftovers(_ image: String,
                           isRoot: (Guestfs) throws -> Bool = { try $0.isFile("/etc/init.d/rcS", followSymlinks: true) }) throws -> [String] {
        try withGuestRoot(image, readonly: true) { g in
            #expect(try isRoot(g), "the look is at the guest's root filesystem")
            return try [GuestReporter.scriptPath, GuestReporter.initdHookPath, GuestReporter.systemdUnitPath,
                        GuestReporter.systemdWantsLink, GuestReporter.stateDirectory].filter { try g.exists($0) || g.isSymlink($0) }
        }
    }
}

/// Opens a guest image's root filesystem for `body` (one appliance start).
func withGuestRoot<T>(_ image: String, readonly: Bool, _ body: (Guestfs) throws -> T) throws -> T {
    let g = try Guestfs(options: GuestfsOptions(forceTCG: ProcessInfo.processInfo.environment["VMSERIAL_ACCEL"] != "kvm"))
    defer { g.close() }
    try g.addDrive(image, format: "qcow2", readonly: readonly)
    try g.launch()
    let root = try #require(try g.inspectOS().first)
    try g.mountInspected(root: root, readonly: readonly)
    let result = try body(g)
    if !readonly {
        try g.umountAll()
        try g.sync()
    }
    return result
}
