import Foundation
import Testing
import VMSerialKit

/// Scenarios on the Debian guest (systemd, Debian's udev): what a real distribution's userland
/// makes of a perturbation, in guest mode and in boot-inspect (its own OS booted unchanged,
/// shut down by ACPI, then inspected). Each boot of this guest costs 0.5-2 minutes under TCG,
/// so these are few.
extension Integration {
@Suite
final class ScenarioDebianIntegrationTests {
    let box: Sandbox

    init() throws { box = try Sandbox() }

    func vmserial(_ args: [String]) throws -> RunResult {
        try run(try vmserialBinary(), args, env: ["LIBVIRT_DEFAULT_URI": libvirtURI, "VMSERIAL_ACCEL": "tcg",
                                                 "VMSERIAL_RUN_DIR": box.dir + "/run"])
    }

    func facts(_ out: [String: Any], _ name: String) -> [String: String] {
        let steps = (out["steps"] as? [[String: Any]]) ?? []
        return (steps.first { $0["name"] as? String == name }?["facts"] as? [String: String]) ?? [:]
    }

    /// Guest mode: the by-id names come from Debian's own udev; the expected names are the ones
    /// seen in that guest (DebianGuest.byID), not computed by vmserial.
    @Test("guest mode on Debian: a dropped serial changes the by-id name Debian's udev makes")
    func debianGuestMode() throws {
        try DebianGuest.requireImage()
        try box.write("debian-drop.json", """
        {"scenario": "debian-serial-dropped", "vm": "\(packageRoot)/scenarios/debian-vm.json", "observe": "guest", "steps": [
          {"observe": "before"},
          {"perturb": {"disk": "data", "serial": null}},
          {"observe": "after", "expect": {"changed": ["disk.data.serial", "disk.data.byid"], "same": ["smbios", "disk.root", "disk.logs"]}}
        ]}
        """)
        let r = try vmserial(["scenario", "run", box.dir + "/debian-drop.json", "--json"])
        #expect(r.status == 0, "\(r.all)")
        let out = try box.json(r)
        let before = facts(out, "before"), after = facts(out, "after")
        #expect(before["disk.data.byid"] == DebianGuest.byID(bus: "virtio", serial: "SCN-DATA-0001"), "\(before)")
        #expect(before["disk.logs.byid"] == DebianGuest.byID(bus: "sata", serial: "SCN-LOGS-0001"), "\(before)")
        #expect(after["disk.data.serial"] == "(none)" && after["disk.data.byid"] == "(none)", "\(after)")
        #expect(try box.connection.listDomainNames().filter { $0.hasPrefix("debian-scn-") }.isEmpty)
    }

    /// probe: vmserial's probe kernel on the Debian VM's hardware (no Debian boot): the same serials
    /// the guest mode test reads from Debian's own kernel.
    @Test("probe mode on the Debian VM's hardware")
    func debianProbe() throws {
        try DebianGuest.requireImage()
        try box.write("debian-probe.json", """
        {"scenario": "debian-probe", "vm": "\(packageRoot)/scenarios/debian-vm.json", "observe": "probe", "steps": [
          {"observe": "before"},
          {"perturb": {"serials": "swap", "disks": ["data", "logs"]}},
          {"observe": "after", "expect": {"changed": ["disk.data.serial", "disk.logs.serial"], "same": ["smbios", "disk.root", "disk.data.bus", "disk.logs.bus"]}}
        ]}
        """)
        let r = try vmserial(["scenario", "run", box.dir + "/debian-probe.json", "--json"])
        #expect(r.status == 0, "\(r.all)")
        let out = try box.json(r)
        #expect(facts(out, "before")["disk.data.serial"] == "SCN-DATA-0001" && facts(out, "after")["disk.data.serial"] == "SCN-LOGS-0001")
        #expect(facts(out, "after")["disk.logs.serial"] == "SCN-DATA-0001")
    }

    /// boot-inspect (the bundled fstab-by-id-lost): Debian boots unchanged, is shut down by ACPI,
    /// and its fstab entry by id is judged against the disks the VM presents now.
    @Test("boot-inspect on Debian: the fstab entry by id stops resolving when its disk loses the serial")
    func debianBootInspect() throws {
        try DebianGuest.requireImage()
        let sums = try [DebianGuest.image].map(box.sha256)
        let r = try vmserial(["scenario", "run", "fstab-by-id-lost", "--json"])
        #expect(r.status == 0, "\(r.all)")
        let out = try box.json(r)
        let before = facts(out, "before")["fstab"] ?? "", after = facts(out, "after")["fstab"] ?? ""
        #expect(before.contains("fstab /mnt/data") && !before.contains("does not resolve"), "\(before)")
        #expect(after.contains("/mnt/data") && after.contains("does not resolve"), "\(after)")
        #expect(facts(out, "after")["windows.machine"] == "(none)")
        let details = ((out["steps"] as? [[String: Any]]) ?? []).compactMap { $0["detail"] as? String }
        #expect(details.contains { $0.contains("shut down by ACPI") || $0.contains("powered itself off") }, "\(details)")
        #expect(try [DebianGuest.image].map(box.sha256) == sums, "the Debian image is unchanged")
    }
}
}
