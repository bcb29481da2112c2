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
    public var bus: Bus
    public var target: String
    public var serial: String?
    /// The disk's partition table as libguestfs reads it now; nil when it was not read.
    public var layout: PartitionTable?

    public init(name: String, bus: Bus, target: String, serial: String?, layout: PartitionTable? = nil) {
        self.name = name
        self.bus = bus
        self.target = target
        self.serial = serial
        self.layout = layout
    }

    /// "data (scsi sda)".
    public var label: String { "\(name) (\(bus) \(target))" }

    /// The by-id name udev gives this disk, nil without a serial (or on a bus vmserial does not know).
    public var udevName: ByIDName? {
        guard let serial else { return nil }
        return ByIDName(bus: bus, serial: serial)
    }
}

/// One thing a guest has recorded, compared with the current identity; the unit of the table
/// and the JSON output. A finding marked `info` lists what was recorded without judging it.
/// Not Verifier's `Check`: a finding can be `info` (listed, never judged), which a verify check
/// never is, and `inspect --json` carries that key where `verify --json` must not.
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
            if let disk = sameSerial.first(where: { $0.bus == name.bus }) {
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

    /// What Windows recorded against what this VM presents. Judged (ok or FAIL) only where the
    /// VM can have caused a difference:
    /// - `HardwareConfig\LastConfig` against the VM's UUID (case-insensitive): another UUID
    ///   means Windows takes the next boot for new hardware;
    /// - SMBiosData's serial and UUID, where a hive keeps it (real hives do not);
    /// - disk instances whose device ID one of the VM's buses presents (`DiskInstance.busHint`)
    ///   and that record a serial: it must be a current disk's, else it is the trace of a
    ///   serial change;
    /// - drive letters (`\DosDevices\X:`) bound to an MBR signature or GPT partition: on a
    ///   current disk, the partition must be there; on no current disk, a letter that belonged
    ///   to a disk of the VM's buses will move.
    /// Everything else is listed (info): earlier hardware configurations, instances of other
    /// hardware (USB, physical disks, other hypervisors) with a summary line, the SAN policy,
    /// what the partition manager keeps per current disk, other MountedDevices entries.
    public static func windows(_ r: WindowsRecord, current: CurrentIdentity) -> [Finding] {
        var out: [Finding] = []
        for n in r.notes { out.append(.info("SYSTEM hive", n)) }
        out += machine(r, current: current)
        out += smbios(r, current: current)
        out += instances(r, current: current)
        out += currentDisks(r, current: current)
        out += letters(r, current: current)
        return out
    }

    static func machine(_ r: WindowsRecord, current: CurrentIdentity) -> [Finding] {
        let want = HardwareConfig.normalize(current.uuid)
        guard let hc = r.hardwareConfig else {
            return [.info("machine uuid (HardwareConfig)", "(not recorded)",
                          detail: "no HKLM\\SYSTEM\\HardwareConfig (Windows 10 and later keep it; Windows 7 does not): this hive keeps no record of the machine's SMBIOS UUID, so whether Windows will take this VM (UUID \(want)) for new hardware cannot be judged offline; disk instances and drive letters are judged")]
        }
        var out: [Finding] = []
        if let last = hc.lastConfig {
            let same = last == want
            let known = hc.machines.first { $0.uuid == want }
            out.append(Finding(what: "machine uuid (HardwareConfig LastConfig)", expected: want, seen: last, ok: same,
                               detail: same ? "Windows last booted on this VM's UUID"
                                   : "Windows last booted on hardware \(last), this VM presents SMBIOS UUID \(want): Windows takes the next boot for " + (known == nil ? "new hardware (it adds HardwareConfig {\(want)})" : "a change of hardware, back to {\(want)}, other hardware it has seen before") + "; software licensed to the machine may ask for reactivation"))
        } else {
            out.append(Finding(what: "machine uuid (HardwareConfig LastConfig)", expected: want, seen: "", ok: false,
                               detail: "HKLM\\SYSTEM\\HardwareConfig has no LastConfig value: a damaged or hand-edited hive"))
        }
        for m in hc.machines {
            out.append(.info("HardwareConfig {\(m.uuid)}", m.summary,
                             detail: m.uuid == hc.lastConfig ? "the hardware Windows booted on last (\(m.computerIds) ComputerIds)"
                                 : "earlier hardware this installation booted on (\(m.computerIds) ComputerIds)"))
        }
        return out
    }

    static func smbios(_ r: WindowsRecord, current: CurrentIdentity) -> [Finding] {
        var out: [Finding] = []
        if let error = r.smbiosError {
            out.append(Finding(what: "smbios table", expected: "a readable SMBiosData", seen: "(unreadable)", ok: false,
                               detail: "\(r.controlSet ?? "?")\\Services\\mssmbios\\Data\\SMBiosData: \(error)"))
        }
        guard let s = r.smbios else {
            if r.smbiosError == nil, r.controlSet != nil {
                out.append(.info("smbios table", "(not kept offline)",
                                 detail: "no \(r.controlSet ?? "?")\\Services\\mssmbios\\Data\\SMBiosData: Windows writes it at boot and does not keep it in the hive file, so the SMBIOS serial Windows saw cannot be read offline"))
            }
            return out
        }
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
        return out
    }

    static func instances(_ r: WindowsRecord, current: CurrentIdentity) -> [Finding] {
        var out: [Finding] = []
        let judged = r.diskInstances.filter(\.fromVMBus)
        let history = r.diskInstances.filter { !$0.fromVMBus }
        if !r.diskInstances.isEmpty {
            out.append(.info("disk instances", "\(judged.count) from the VM's buses, \(history.count) from other hardware",
                             detail: history.isEmpty ? nil
                                 : "other hardware (history, not judged): " + Dictionary(grouping: history, by: { "\($0.enumerator)\\\($0.deviceID)" })
                                     .map { "\($0.key) ×\($0.value.count)" }.sorted().joined(separator: ", ")))
        }
        for d in judged {
            let what = "disk instance \(d.path)"
            let pm = d.partmgr.map { "; Partmgr: \(partmgrSummary($0))" } ?? ""
            guard let serial = d.serial else {
                out.append(.info(what, "(no serial)", detail: "\(d.busHint ?? "?") disk through \(d.driver ?? "?"), a location-based instance ID: it records where the disk was, not its serial\(pm)"))
                continue
            }
            if let disk = current.disks.first(where: { $0.serial.map(DiskInstance.normalize) == serial }) {
                out.append(Finding(what: what, expected: disk.serial ?? "", seen: serial, ok: true,
                                   detail: "serial from the \(d.serialSource ?? "instance"): disk \(disk.label)\(pm)"))
            } else {
                let serials = current.disks.compactMap(\.serial)
                out.append(Finding(what: what, expected: serials.isEmpty ? "(no disk has a serial)" : serials.joined(separator: ", "),
                                   seen: serial, ok: false,
                                   detail: "Windows knew a \(d.busHint ?? "?") disk with serial \(serial) (from the \(d.serialSource ?? "instance")\(d.friendlyName.map { ", \($0)" } ?? "")) that no current disk presents: the trace of a serial change (that disk comes back as a new one, possibly offline, with other drive letters) or of a disk removed\(pm)"))
            }
        }
        for d in history {
            out.append(.info("disk instance \(d.path)", d.friendlyName ?? d.deviceID,
                             detail: "history: no disk of the VM's buses presents this device ID\(d.partmgr.map { "; Partmgr: \(partmgrSummary($0))" } ?? "")"))
        }
        return out
    }

    /// "DiskId {…}, online, read-write, MBR ae4645df".
    static func partmgrSummary(_ p: PartmgrRecord) -> String {
        [p.diskId.map { "DiskId \($0)" }, p.attributes == nil ? nil : p.state, p.layout?.identity].compactMap { $0 }.joined(separator: ", ")
    }

    /// Per current disk: which instance the partition manager knows it as (by the MBR signature
    /// or GPT disk GUID in each instance's PartitionTableCache), that instance's attributes and
    /// volumes, the drive letters on it, and the SAN policy that decides a new disk's fate.
    static func currentDisks(_ r: WindowsRecord, current: CurrentIdentity) -> [Finding] {
        var out: [Finding] = []
        let policy = r.sanPolicy.map { "\(WindowsRecord.sanPolicyName($0)) (\($0))" }
        if r.controlSet != nil {
            out.append(.info("san policy", policy ?? "(not set)",
                             detail: "Services\\partmgr\\Parameters\\SanPolicy decides whether a disk Windows has not seen comes up online: OnlineAll brings every new disk online, OfflineShared leaves disks on shared buses (SCSI, SAS, iSCSI, Fibre Channel) offline and read-only, OfflineAll every new disk but the boot disk, OfflineInternal every new internal disk\(policy == nil ? "; not set, Windows applies its edition's default" : "")"))
        }
        let policyText = policy.map { "SanPolicy \($0) decides whether it comes up online" } ?? "the edition's default SAN policy decides whether it comes up online"
        for disk in current.disks {
            guard let layout = disk.layout else { continue }
            let what = "disk \(disk.name)"
            guard layout.style != "none" else {
                out.append(.info(what, layout.identity, detail: "no partition table: nothing for Windows to recognise it by; a new disk to Windows, \(policyText)"))
                continue
            }
            let known = r.diskInstances.filter { $0.partmgr?.layout.map { layout.sameDisk(as: $0) } == true }
            let letters = r.mountedDevices.filter { $0.name.lowercased().hasPrefix("\\dosdevices\\") && layout.names($0) }
                .map { String($0.name.dropFirst("\\DosDevices\\".count)) }
            let lettersText = letters.isEmpty ? "no drive letter" : "drive letter\(letters.count == 1 ? "" : "s") \(letters.joined(separator: ", "))"
            if known.isEmpty {
                out.append(.info(what, layout.identity, detail: "the partition manager has no instance with this disk's \(layout.style == "gpt" ? "GUID" : "signature"): a new disk to Windows, \(policyText); \(lettersText)"))
                continue
            }
            let described = known.map { d -> String in
                let volumes = r.volumes.filter { $0.diskId == d.partmgr?.diskId }.count
                return "\(d.path) (\(d.fromVMBus ? "the VM's \(d.busHint ?? "?") bus" : "other hardware"), \(d.partmgr.map(partmgrSummary) ?? ""), \(volumes) volume\(volumes == 1 ? "" : "s"))"
            }
            let offline = known.filter { $0.fromVMBus && $0.partmgr?.offline == true }
            let note = offline.isEmpty ? "" : "; Windows keeps it offline: its volumes get no drive letter until it is brought online (Set-Disk -IsOffline $false)"
            let newInstance = known.contains(where: \.fromVMBus) ? "" : "; on this VM it arrives as a new instance of a \(disk.bus) disk, which \(policyText), its letters following the \(layout.style == "gpt" ? "partition GUIDs" : "signature")"
            out.append(.info(what, layout.identity,
                             detail: "Windows knows this disk as " + described.joined(separator: "; ") + "\(note)\(newInstance); \(lettersText)"))
        }
        return out
    }

    /// MountedDevices: each drive letter bound to a partition is looked for on the current disks.
    static func letters(_ r: WindowsRecord, current: CurrentIdentity) -> [Finding] {
        let layouts = current.disks.compactMap { d in d.layout.map { (d, $0) } }
        return r.mountedDevices.map { m in
            let what = "MountedDevices \(m.name)"
            let isLetter = m.name.lowercased().hasPrefix("\\dosdevices\\")
            guard m.kind == "mbr" || m.kind == "gpt" else { return .info(what, m.summary) }
            if let (disk, table) = layouts.first(where: { $0.1.names(m) }) {
                if let p = table.partition(for: m) {
                    let place = "disk \(disk.label)\(p.number.map { " partition \($0)" } ?? "") at byte \(p.offset)"
                    return isLetter ? Finding(what: what, expected: m.summary, seen: m.summary, ok: true, detail: place) : .info(what, m.summary, detail: place)
                }
                let detail = "disk \(disk.label) has \(table.identity) but no partition \(m.kind == "mbr" ? "at byte \(m.partitionOffset ?? 0)" : "with that GUID"): the volume Windows bound \(isLetter ? "this letter" : "this name") to is gone from it\(isLetter ? ", so the letter will move" : "")"
                return isLetter ? Finding(what: what, expected: "a partition of \(disk.label)", seen: m.summary, ok: false, detail: detail)
                    : .info(what, m.summary, detail: detail)
            }
            guard !layouts.isEmpty else { return .info(what, m.summary, detail: "the current disks' partition tables were not read") }
            let owner = r.diskInstances.first { $0.partmgr?.layout?.names(m) == true }
            if isLetter, let owner, owner.fromVMBus {
                let now = layouts.map { "\($0.0.name): \($0.1.identity)" }.joined(separator: ", ")
                return Finding(what: what, expected: now, seen: m.summary, ok: false,
                               detail: "Windows bound this letter to a partition of \(owner.path), a disk of the VM's \(owner.busHint ?? "?") bus, and no current disk has that \(m.kind == "mbr" ? "signature" : "partition GUID"): the letter will move (the disk was removed, or rewritten with another partition table)")
            }
            return .info(what, m.summary,
                         detail: "history: on no current disk\(owner.map { "; Windows knew it on \($0.path)" } ?? "")")
        }
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
