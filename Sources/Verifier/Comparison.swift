import DomainXML
import SerialPolicy

/// What the registry says a VM must present. The verifier never takes the domain XML's
/// word for it: a serial edited behind vmserial's back must fail.
public struct ExpectedIdentity: Sendable, Equatable {
    public var uuid: String
    public var smbiosSerial: String?
    public var disks: [ExpectedDisk]

    public init(uuid: String, smbiosSerial: String?, disks: [ExpectedDisk]) {
        self.uuid = uuid
        self.smbiosSerial = smbiosSerial
        self.disks = disks
    }
}

public struct ExpectedDisk: Sendable, Equatable {
    public var name: String
    public var bus: Bus
    /// libvirt target dev (vda, sdb; NVMe disks have vd* names too).
    public var target: String
    public var serial: String?
    /// The longest serial the bus keeps.
    public var limit: Int { bus.serialLimit }

    public init(name: String, bus: Bus, target: String, serial: String?) {
        self.name = name
        self.bus = bus
        self.target = target
        self.serial = serial
    }
}

/// One comparison: the unit of the table, JSON and JUnit outputs.
public struct Check: Sendable, Equatable, Codable {
    public var what: String
    public var expected: String
    public var seen: String
    public var ok: Bool
    /// Why it failed, in words (nil when it passed).
    public var detail: String?

    public init(what: String, expected: String, seen: String, ok: Bool, detail: String? = nil) {
        self.what = what
        self.expected = expected
        self.seen = seen
        self.ok = ok
        self.detail = detail
    }
}

public enum Comparator {
    /// Compares one guest report with the expected identity, mapping each guest device to a
    /// domain disk by its address (never by order or name).
    public static func checks(expected: ExpectedIdentity, domain: Domain, report: ProbeReport) -> [Check] {
        var checks: [Check] = []
        let wantSerial = expected.smbiosSerial ?? ""
        checks.append(compare("smbios serial", want: wantSerial, seen: report.smbiosSerial,
                              detail: wantSerial.isEmpty ? "the guest shows an SMBIOS serial although none was assigned"
                                  : (report.smbiosSerial.isEmpty ? "the guest shows no SMBIOS serial (was <sysinfo> or <smbios mode='sysinfo'/> removed?)"
                                      : "the guest's SMBIOS serial is not the assigned one")))
        checks.append(compare("smbios uuid", want: expected.uuid.lowercased(), seen: report.smbiosUUID.lowercased(),
                              detail: "the guest's SMBIOS UUID is not the instance UUID"))

        // Locate every guest device once.
        var byLocation: [DeviceLocation: GuestDevice] = [:]
        var unplaced: [GuestDevice] = []
        for d in report.devices {
            if let l = d.location.location { byLocation[l] = d } else { unplaced.append(d) }
        }
        var matched: Set<DeviceLocation> = []
        for disk in expected.disks {
            let what = "disk \(disk.name) (\(disk.bus) \(disk.target)) serial"
            let want = disk.serial ?? ""
            // Where the domain puts it, and what serial the domain definition carries.
            let location: DeviceLocation
            let configured: String?
            do {
                guard let d = domain.devices.disks.first(where: { $0.targetDev == disk.target }) else {
                    checks.append(Check(what: what, expected: want, seen: "(not in domain)", ok: false,
                                        detail: "the domain definition has no disk with target \(disk.target); it was changed outside vmserial — re-run `vmserial launch`"))
                    continue
                }
                if (disk.bus == .nvme) != domain.isNVMe(d) {
                    checks.append(Check(what: what, expected: want, seen: "(wrong device)", ok: false,
                                        detail: "the domain definition presents \(disk.target) as \(domain.isNVMe(d) ? "nvme" : d.targetBus ?? "?"), not \(disk.bus); it was changed outside vmserial — re-run `vmserial launch`"))
                    continue
                }
                location = try DomainLocations.location(of: d, in: domain)
                configured = d.serial
            } catch {
                checks.append(Check(what: what, expected: want, seen: "(no address)", ok: false, detail: "\(error)"))
                continue
            }
            guard let guest = byLocation[location] else {
                checks.append(Check(what: what, expected: want, seen: "(no device)", ok: false,
                                    detail: "the guest has no block device at \(location)"))
                continue
            }
            matched.insert(location)
            // After the serial's own check, whichever way that one ends.
            let idCheck = byIDCheck(disk: disk, guest: guest, report: report)
            defer { if let idCheck { checks.append(idCheck) } }
            let seen = guest.serial
            if seen == want {
                checks.append(Check(what: what, expected: want, seen: seen, ok: true))
                continue
            }
            var detail: String
            if let configured, configured != want {
                detail = "the domain definition gives \(configured) but the registry assigned \(want.isEmpty ? "no serial" : want): the definition was changed outside vmserial"
                if configured.utf8.count > disk.limit, configured.hasPrefix(seen), seen.utf8.count == disk.limit {
                    detail += "; and \(configured) (\(configured.utf8.count) characters) was truncated by the hypervisor to \(seen) (\(disk.bus) keeps \(disk.limit))"
                }
            } else if want.hasPrefix(seen) && !seen.isEmpty {
                detail = "truncated by the hypervisor: \(want) arrived as \(seen)"
            } else {
                detail = "the guest (\(guest.name)) sees \(seen.isEmpty ? "no serial" : seen), not \(want.isEmpty ? "no serial" : want)"
            }
            checks.append(Check(what: what, expected: want, seen: seen, ok: false, detail: detail))
        }
        for (loc, d) in byLocation where !matched.contains(loc) {
            checks.append(Check(what: "guest device \(d.name)", expected: "(none)", seen: d.serial.isEmpty ? "(no serial)" : d.serial,
                                ok: false, detail: "the guest has a \(d.bus) device at \(loc) that no disk of the domain maps to"))
        }
        for d in unplaced {
            checks.append(Check(what: "guest device \(d.name)", expected: "(none)", seen: d.path, ok: false,
                                detail: "cannot place guest device \(d.name) (path \(d.path))"))
        }
        return checks
    }

    /// A guest report of version 2 lists /dev/disk/by-id: the disk's serial must appear there as
    /// the name udev builds from it, pointing at the device the serial was read from. Nil when
    /// there is nothing to check (a probe report, a guest without by-id links, a disk without serial).
    static func byIDCheck(disk: ExpectedDisk, guest: GuestDevice, report: ProbeReport) -> Check? {
        guard report.version >= 2, !report.byID.isEmpty, let serial = disk.serial, !serial.isEmpty else { return nil }
        let want = ByIDName(bus: disk.bus, serial: serial).name
        let what = "disk \(disk.name) (\(disk.bus) \(disk.target)) by-id"
        let toGuest = report.byID.filter { $0.target == guest.name && ByIDName(parsing: $0.name)?.partition == nil }
        if toGuest.contains(where: { $0.name == want }) {
            return Check(what: what, expected: want, seen: want, ok: true)
        }
        let seen = toGuest.map(\.name).sorted().joined(separator: ",")
        if let elsewhere = report.byID.first(where: { $0.name == want }) {
            return Check(what: what, expected: want, seen: seen.isEmpty ? "(none)" : seen, ok: false,
                         detail: "/dev/disk/by-id/\(want) points at \(elsewhere.target), not at \(guest.name)")
        }
        return Check(what: what, expected: want, seen: seen.isEmpty ? "(none)" : seen, ok: false,
                     detail: "the guest has no /dev/disk/by-id/\(want) for \(guest.name): an fstab or crypttab entry by that id will not be found at boot")
    }

    /// Checks that a later cycle shows exactly what the first one did.
    public static func unchanged(first: ProbeReport, now: ProbeReport) -> [Check] {
        var checks: [Check] = []
        func same(_ what: String, _ a: String, _ b: String) {
            if a != b { checks.append(Check(what: "\(what) unchanged since cycle 1", expected: a, seen: b, ok: false,
                                            detail: "changed between cycles")) }
        }
        same("smbios serial", first.smbiosSerial, now.smbiosSerial)
        same("smbios uuid", first.smbiosUUID, now.smbiosUUID)
        var before: [DeviceLocation: String] = [:]
        for d in first.devices { if let l = d.location.location { before[l] = d.serial } }
        for d in now.devices {
            if let l = d.location.location, let b = before[l] { same("device at \(l)", b, d.serial) }
        }
        return checks
    }

    static func compare(_ what: String, want: String, seen: String, detail: String) -> Check {
        Check(what: what, expected: want, seen: seen, ok: want == seen, detail: want == seen ? nil : detail)
    }
}
