import SerialPolicy
/// The identity a VM presents now, as its registry assigned it.
public struct CurrentIdentity: Sendable, Equatable {
    public var uuid: String
    /// nil when the VM presents no SMBIOS serial (mode none).
    public var smbiosSerial: String?
    public var disks: [CurrentDisk]

    public init(uuid: String, smbiosSerial: String?, disks: [CurrentDisk]) {
        self.uuid = uuid
        self.smbiosSerial = smbiosSerial
        self.disks = disks
    }
}

public struct CurrentDisk: Sendable, Equatable {
    public var name: String
    /// virtio, scsi, sata or nvme.
    public var bus: String
    public var target: String
    public var serial: String?

    public init(name: String, bus: String, target: String, serial: String?) {
        self.name = name
        self.bus = bus
        self.target = target
        self.serial = serial
    }

    /// "data (scsi sda)".
    public var label: String { "\(name) (\(bus) \(target))" }

    /// The by-id name udev gives this disk, nil without a serial (or on a bus vmserial does not know).
    public var udevName: ByIDName? {
        guard let serial, let b = Bus(rawValue: bus) else { return nil }
        return ByIDName(bus: b, serial: serial)
    }
}

/// One thing a guest has recorded, compared with the current identity; the unit of the table
/// and the JSON output. A finding marked `info` lists what was recorded without judging it.
public struct Finding: Sendable, Equatable, Codable {
    public var what: String
    public var expected: String
    public var seen: String
    public var ok: Bool
    /// Listed for the reader; never fails the inspection.
    public var info: Bool
    /// Why it failed, or what the listed value means.
    public var detail: String?

    public init(what: String, expected: String, seen: String, ok: Bool, info: Bool = false, detail: String? = nil) {
        self.what = what
        self.expected = expected
        self.seen = seen
        self.ok = ok
        self.info = info
        self.detail = detail
    }

    static func info(_ what: String, _ seen: String, detail: String? = nil) -> Finding {
        Finding(what: what, expected: "", seen: seen, ok: true, info: true, detail: detail)
    }
}

/// Compares what a guest recorded with the identity the VM presents now.
public enum IdentityComparison {
    /// fstab and crypttab entries that name disks by the by-id names udev builds from serials:
    /// each must name a disk the VM has now, on the bus the name encodes; otherwise the guest
    /// will not find it at boot. Entries by UUID=, LABEL= and the like do not depend on serials
    /// and are not listed; by-id names not built from a serial (wwn-…) are listed as info.
    public static func linux(_ entries: [TableEntry], current: CurrentIdentity) -> [Finding] {
        var out: [Finding] = []
        for e in entries {
            let what = e.file == "/etc/crypttab" ? "crypttab \(e.target)" : "fstab \(e.target)"
            guard e.device.hasPrefix("/dev/disk/by-id/") else { continue }
            guard let name = e.udevName else {
                out.append(.info(what, e.device, detail: "\(e.file) line \(e.line): a by-id name not built from a disk serial"))
                continue
            }
            let seen = e.device
            if let disk = current.disks.first(where: { $0.udevName?.denotes(e.device) == true }) {
                out.append(Finding(what: what, expected: seen, seen: seen, ok: true,
                                   detail: "\(e.file) line \(e.line): disk \(disk.label)"))
                continue
            }
            // The serial is there, on another bus (the name carries only what the bus shows: scsi's first 20 characters).
            let sameSerial = current.disks.filter { d in
                guard let s = d.serial else { return false }
                return s == name.serial || (name.bus == .scsi && !name.scsiPage80Form && String(s.prefix(ByIDName.scsiNameLimit)) == name.serial)
            }
            if let disk = sameSerial.first(where: { $0.bus == name.bus.rawValue }) {
                out.append(Finding(what: what, expected: seen, seen: seen, ok: true,
                                   detail: "\(e.file) line \(e.line): disk \(disk.label)"))
                continue
            }
            let nofail = e.noFail ? " (nofail: the boot goes on without it)" : ""
            if let disk = sameSerial.first, var now = disk.udevName {
                now.partition = name.partition
                out.append(Finding(what: what, expected: "/dev/disk/by-id/\(now.name)", seen: seen, ok: false,
                                   detail: "\(e.file) line \(e.line): the disk with serial \(name.serial) is \(disk.label) now, on bus \(disk.bus) rather than \(name.bus.rawValue), so udev names it \(now.name); \(seen) will not be found at boot\(nofail)"))
                continue
            }
            let names = current.disks.compactMap { $0.udevName?.name }
            out.append(Finding(what: what, expected: names.isEmpty ? "(no disk has a serial)" : names.joined(separator: ", "),
                               seen: seen, ok: false,
                               detail: "\(e.file) line \(e.line): no disk of this VM has serial \(name.serial): a disk that will not be found at boot\(nofail)"))
        }
        return out
    }

    /// The SMBIOS serial and UUID Windows last saw against the current ones; each disk instance
    /// that records a serial against the current disks (an instance no current disk matches is
    /// the trace of a serial change, or of a disk removed); MountedDevices listed.
    public static func windows(_ r: WindowsRecord, current: CurrentIdentity) -> [Finding] {
        var out: [Finding] = []
        for n in r.notes { out.append(.info("SYSTEM hive", n)) }
        if let error = r.smbiosError {
            out.append(Finding(what: "smbios table", expected: "a readable SMBiosData", seen: "(unreadable)", ok: false,
                               detail: "\(r.controlSet ?? "?")\\Services\\mssmbios\\Data\\SMBiosData: \(error)"))
        }
        if let s = r.smbios {
            let want = current.smbiosSerial ?? ""
            let seen = s.serialNumber ?? ""
            let sameSerial = seen.trimmingSpaces == want
            out.append(Finding(what: "smbios serial (Windows last saw)", expected: want, seen: seen, ok: sameSerial,
                               detail: sameSerial ? "SMBIOS \(s.version) table in \(r.controlSet ?? "?")\\Services\\mssmbios\\Data\\SMBiosData"
                                   : "Windows last saw SMBIOS serial \(seen.isEmpty ? "(none)" : seen), this VM now presents \(want.isEmpty ? "none" : want): software licensed against the serial sees another machine"))
            let wantUUID = current.uuid.lowercased()
            let seenUUID = s.uuid?.lowercased() ?? ""
            out.append(Finding(what: "smbios uuid (Windows last saw)", expected: wantUUID, seen: seenUUID, ok: seenUUID == wantUUID,
                               detail: seenUUID == wantUUID ? nil
                                   : "Windows last saw SMBIOS UUID \(seenUUID.isEmpty ? "(none)" : seenUUID), this VM is \(wantUUID)"))
        }
        for d in r.diskInstances {
            let what = "disk instance \(d.path)"
            guard let serial = d.serial else {
                out.append(.info(what, "(no serial)", detail: "a location-based instance ID: it records where the disk was, not its serial"))
                continue
            }
            if let disk = current.disks.first(where: { $0.serial.map(DiskInstance.normalize) == serial }) {
                out.append(Finding(what: what, expected: disk.serial ?? "", seen: serial, ok: true,
                                   detail: "serial from the \(d.serialSource ?? "instance"): disk \(disk.label)"))
            } else {
                let serials = current.disks.compactMap(\.serial)
                out.append(Finding(what: what, expected: serials.isEmpty ? "(no disk has a serial)" : serials.joined(separator: ", "),
                                   seen: serial, ok: false,
                                   detail: "Windows knew a disk with serial \(serial) (from the \(d.serialSource ?? "instance")\(d.friendlyName.map { ", \($0)" } ?? "")) that no current disk presents: the trace of a serial change (that disk comes back as a new one, possibly offline, with other drive letters) or of a disk removed"))
            }
        }
        for m in r.mountedDevices {
            out.append(.info("MountedDevices \(m.name)", m.summary))
        }
        return out
    }
}

extension String {
    /// Without leading and trailing spaces (SMBIOS strings are sometimes space-padded).
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        while s.first == " " { s = s.dropFirst() }
        return String(s)
    }
}
