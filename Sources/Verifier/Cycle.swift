/// What one cycle of a verify run does to the VM before the guest reports.
public enum CycleKind: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// The first boot of the run.
    case boot
    /// The guest reboots itself; the same QEMU process goes on.
    case guestReboot = "guest-reboot"
    /// The domain is stopped and started again: a new QEMU process on the same definition.
    case restart
    /// The domain is undefined and launched again from the registry.
    case relaunch
    /// Every disk is copied to new files while the domain is off, then booted.
    case migrateOffline = "migrate-offline"
    /// Every disk is copied while the guest runs (block copy and pivot), then the guest resets.
    case migrateLive = "migrate-live"

    public var description: String { rawValue }

    /// Whether this cycle moves the disks' data to new files.
    public var migrates: Bool { self == .migrateOffline || self == .migrateLive }
}

/// What the guest does after it has sent one boot's report. The probe kernel reads it from its
/// command line (`vmserial.after=`), the guest reporter from its plan file, one line per boot.
public enum BootAction: String, Sendable, CaseIterable, CustomStringConvertible {
    case poweroff
    case reboot
    /// Keep running: the host changes something under the running guest (a live migration's
    /// pivot), then resets it.
    case stay

    public var description: String { rawValue }
}

/// The cycles of a verify run and how they fall into QEMU processes ("groups"): each boot,
/// restart, relaunch or migration starts a process; guest reboots stay in the process before them.
public struct CyclePlan: Sendable, Equatable {
    public let kinds: [CycleKind]

    public init(_ kinds: [CycleKind]) {
        self.kinds = kinds
    }

    /// boot, then `reboots` further cycles alternating guest-reboot and restart, then relaunch,
    /// then a migration (live or offline) when asked.
    public init(reboots: Int, relaunch: Bool, migrate: Bool, live: Bool) {
        var kinds: [CycleKind] = [.boot]
        for i in 0..<max(0, reboots) { kinds.append(i % 2 == 0 ? .guestReboot : .restart) }
        if relaunch { kinds.append(.relaunch) }
        if migrate { kinds.append(live ? .migrateLive : .migrateOffline) }
        self.kinds = kinds
    }

    /// Cycle indices (0-based) grouped by the QEMU process that runs them.
    public var groups: [[Int]] {
        var groups: [[Int]] = []
        for (i, k) in kinds.enumerated() {
            if k == .guestReboot, !groups.isEmpty { groups[groups.count - 1].append(i) } else { groups.append([i]) }
        }
        return groups
    }

    /// What the guest does after each of its boots, in boot order. A live migration boots twice in
    /// one process: the first boot stays up for the copy and pivot, the reset boot powers off.
    public var bootActions: [BootAction] {
        groups.flatMap { group in actions(for: group) }
    }

    /// The boot actions of one group (one QEMU process).
    public func actions(for group: [Int]) -> [BootAction] {
        if kinds[group[0]] == .migrateLive { return [.stay, .poweroff] }
        return Array(repeating: .reboot, count: group.count - 1) + [.poweroff]
    }

    /// Whether any cycle moves the disks.
    public var migrates: Bool { kinds.contains { $0.migrates } }
}
