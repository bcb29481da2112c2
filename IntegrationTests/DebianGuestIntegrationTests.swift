import Foundation
import Guestfs
import Testing
import VMSerialKit

/// The Debian guest (images/build-debian.sh): Debian's own systemd, udev, kernel and
/// initramfs boot from the VM's disks under libvirt, so the by-id names the tests read come
/// from Debian's udev rules, not from a copy of them. The expected names are written down as
/// Debian's udev made them (``DebianGuest/byID(bus:serial:)``), never computed by vmserial.
/// A boot to the login prompt costs 0.5-2 minutes under TCG (by the machine's load): three
/// tests, one boot each (5.5-10 minutes in all on the project's 2-core machine).
extension Integration {
@Suite
final class DebianGuestIntegrationTests {
    let box: Sandbox

    init() throws { box = try Sandbox() }

    func findings(_ json: [String: Any]) -> [String: [String: Any]] {
        let rows = ((json["systems"] as? [[String: Any]]) ?? []).flatMap { ($0["findings"] as? [[String: Any]]) ?? [] }
        return Dictionary(rows.map { ($0["what"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
    }

    @Test("Debian guest, guest mode: Debian's udev names virtio, SATA and SCSI disks by the serials vmserial assigned; nothing of the reporter is left; inspect judges the fstab by-id entries")
    func debianGuestMode() throws {
        let vm = box.name("deb")
        let spec = try box.debianSpec(vm, disks: [
            .init(name: "data", bus: "virtio", serial: "SCN-DATA-0001"),
            .init(name: "logs", bus: "sata", serial: "SCN-LOGS-0001"),
            .init(name: "scratch", bus: "scsi"),
        ])
        let launched = try box.vmserial("launch", spec, "--no-start")
        try #require(launched.status == 0, "\(launched.all)")
        let assigned = try box.json(try box.vmserial("serials", "--domain", vm, "--json"))
        var serials: [String: (bus: String, serial: String)] = [:]
        for d in assigned.disks {
            if let n = d["name"] as? String, let b = d["bus"] as? String, let s = d["serial"] as? String { serials[n] = (b, s) }
        }
        #expect(serials["data"]?.serial == "SCN-DATA-0001" && serials["logs"]?.serial == "SCN-LOGS-0001")
        #expect(serials.count == 4, "root and scratch get generated serials: \(serials)")

        let r = try box.vmserial("verify", "--domain", vm, "--mode", "guest", "--json")
        #expect(r.status == 0, "\(r.all)")
        let out = try box.json(r)
        #expect(out["ok"] as? Bool == true, "\(r.stdout)")
        #expect(out["mode"] as? String == "guest")
        // The fstab names its root by LABEL= and the data disks by id (nofail): the quick look
        // follows the by-id names through the serials of the VM's disks (blank here, so the
        // guest mounts nothing there either) and needs no full inspection.
        let appliance = out["appliance"] as? [String: Any]
        #expect(appliance?["osFoundBy"] as? String == "quick look", "\(r.stdout)")
        #expect(appliance?["starts"] as? Int == 1, "\(r.stdout)")

        let seen = checks(out).filter { $0.cycle == 1 }
        #expect(seen.first { $0.what == "smbios uuid" }?.seen == assigned["uuid"] as? String)
        for (name, d) in serials {
            #expect(seen.first { $0.what.hasPrefix("disk \(name) ") && $0.what.hasSuffix(" serial") }?.seen == d.serial, "disk \(name)")
            // The name Debian's udev made (60-persistent-storage.rules, ata_id, scsi_id), as written down from the guest.
            let byID = seen.first { $0.what.hasPrefix("disk \(name) ") && $0.what.hasSuffix(" by-id") }
            let want = try #require(DebianGuest.byID(bus: d.bus, serial: d.serial))
            #expect(byID?.ok == true && byID?.seen == want, "disk \(name) (\(d.bus)): \(String(describing: byID))")
        }
        // The copy the systemd unit wrote to the guest's disk was read back and equals the serial port's.
        #expect(seen.contains { $0.what.hasPrefix("report on the guest's disk") && $0.ok }, "\(seen)")

        let image = try #require(try box.definition(vm).devices.disks.first?.source)
        // The look is at the Debian root: systemd is its init.
        #expect(try box.reporterLeftovers(image, isRoot: { try $0.readlink("/sbin/init").hasSuffix("systemd") }) == [])

        // The image's fstab entries by id, judged against the VM: both name disks it has.
        let i = try box.vmserial("inspect", "--domain", vm, "--json")
        #expect(i.status == 0, "\(i.all)")
        let inspected = try box.json(i)
        let system = (inspected["systems"] as? [[String: Any]])?.first
        #expect(system?["type"] as? String == "linux" && system?["distro"] as? String == "debian", "\(i.stdout)")
        #expect(system?["disk"] as? String == "root")
        let rows = findings(inspected)
        for entry in DebianGuest.fstabByID {
            let row = try #require(rows["fstab \(entry.mountpoint)"], "\(rows.keys.sorted())")
            #expect(row["ok"] as? Bool == true, "\(row)")
            #expect(row["seen"] as? String == "/dev/disk/by-id/\(entry.byID)")
        }
    }

    @Test("Debian guest with its logs disk's serial changed: the boot goes on (nofail), its udev names the disk by the new serial (a systemd unit reported it), inspect flags the fstab entry (exit 1)")
    func debianStaleByID() throws {
        let vm = box.name("debst")
        let spec = try box.debianSpec(vm, disks: [
            .init(name: "data", bus: "virtio", serial: "SCN-DATA-0001"),
            .init(name: "logs", bus: "sata", serial: "SCN-LOGS-0002"),
        ])
        let launched = try box.vmserial("launch", spec, "--no-start")
        try #require(launched.status == 0, "\(launched.all)")

        let i = try box.vmserial("inspect", "--domain", vm, "--json")
        #expect(i.status == 1, "\(i.all)")
        let rows = findings(try box.json(i))
        let data = try #require(rows["fstab /mnt/data"], "\(rows.keys.sorted())")
        #expect(data["ok"] as? Bool == true, "\(data)")
        let logs = try #require(rows["fstab /mnt/logs"], "\(rows.keys.sorted())")
        #expect(logs["ok"] as? Bool == false)
        #expect((logs["detail"] as? String ?? "").contains("no disk of this VM has serial SCN-LOGS-0001"), "\(logs)")

        // The guest itself: it boots to the reporter (the entry is nofail), and its udev
        // names the logs disk by the serial it has now. Without --json: the table, and the
        // progress on stderr says which hook ran the reporter (a systemd unit here).
        let r = try box.vmserial("verify", "--domain", vm, "--mode", "guest")
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stderr.contains("installing the reporter"), "\(r.stderr)")
        #expect(r.stderr.contains("reporter (systemd) and its reports removed"), "\(r.stderr)")
        let row = r.stdout.split(separator: "\n").first { $0.contains("disk logs") && $0.contains("by-id") }
        #expect(row?.contains("ata-QEMU_HARDDISK_SCN-LOGS-0002") == true, "\(r.stdout)")
        #expect(!r.stdout.contains("SCN-LOGS-0001"), "\(r.stdout)")
    }

    @Test("Debian guest under libvirt boots to a login prompt on ttyS0, and `virsh shutdown` (the ACPI power button, systemd-logind) powers it off cleanly: its root journal needs no recovery")
    func debianACPIShutdown() throws {
        let vm = box.name("debacpi")
        let spec = try box.debianSpec(vm, disks: [.init(name: "data", bus: "virtio", serial: "SCN-DATA-0001")])
        let launched = try box.vmserial("launch", spec, "--no-start")
        try #require(launched.status == 0, "\(launched.all)")
        let image = try #require(try box.definition(vm).devices.disks.first?.source)

        let start = Date()
        let started = try run("virsh", ["-c", libvirtURI, "start", vm])
        try #require(started.status == 0, "\(started.all)")
        let console = try SerialConsole(domain: vm)
        let dom = try box.connection.lookupDomain(name: vm)
        let prompt = console.wait(for: "vmserial-debian login:", timeout: 300)
        let booted = Date().timeIntervalSince(start)
        try #require(prompt, "no login prompt after \(Int(booted)) s; console:\n\(console.text.value.suffix(3000))")
        // The getty is up, but logind may still be on its way: a press before it listens is lost,
        // so press again every 20 s (as virt-manager's users do); count the presses.
        var presses = 0
        let press = Date()
        while (try? dom.isActive) == true && Date().timeIntervalSince(press) < 120 {
            if presses == 0 || Date().timeIntervalSince(press) > Double(presses) * 20 {
                let s = try run("virsh", ["-c", libvirtURI, "shutdown", vm])
                if s.status == 0 { presses += 1 }
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let off = Date().timeIntervalSince(press)
        try #require(try !dom.isActive, "still running \(Int(off)) s after `virsh shutdown`; console:\n\(console.text.value.suffix(3000))")
        print("debian guest: login prompt \(String(format: "%.1f", booted)) s after start; off \(String(format: "%.1f", off)) s after the first ACPI press (\(presses) presses)")
        #expect(presses == 1, "the first press was lost")
        // libvirt saw the guest power itself off (not a destroy, not a crash).
        let reason = try run("virsh", ["-c", libvirtURI, "domstate", "--reason", vm])
        #expect(reason.stdout.contains("shut off (shutdown)"), "\(reason.all)")
        #expect(try !DebianGuest.rootNeedsRecovery(image, scratch: "\(box.dir)/sb.raw"), "the root filesystem was not unmounted cleanly")
    }
}
}
