/// The scenario format of `vmserial scenario run`: a VM, a way of observing it, and steps that
/// observe it, change it behind vmserial's back (as another tool or platform would), move it the
/// vmserial way, and state what must have changed or stayed the same between observations.
///
/// This module is pure: it parses and checks scenario files, turns what a guest reported into
/// named facts, and judges expectations. It must not import Libvirt, Guestfs or the registry:
/// the runner that boots guests lives in VMSerialKit.
import SerialPolicy

public struct Scenario: Sendable, Equatable {
    /// The scenario's name (`serial-dropped`): used in the copy's domain name and in reports.
    public var name: String
    public var description: String?
    public var vm: VMSource
    public var observe: ObserveMode
    /// boot-inspect: seconds the guest's own OS may run before it is shut down (it may power off sooner).
    public var settle: Double
    /// Seconds one boot may take before the guest counts as silent (probe and guest modes); in
    /// boot-inspect, seconds an ACPI shutdown may take before the guest is destroyed.
    public var timeout: Double
    public var steps: [Step]

    public init(name: String, description: String? = nil, vm: VMSource, observe: ObserveMode, settle: Double = 60,
                timeout: Double = 180, steps: [Step]) {
        self.name = name
        self.description = description
        self.vm = vm
        self.observe = observe
        self.settle = settle
        self.timeout = timeout
        self.steps = steps
    }

    /// Where the VM spec comes from: a file (absolute, resolved against the scenario's folder) or inline JSON.
    public enum VMSource: Sendable, Equatable {
        case file(String)
        case inline(json: String)
        /// `{"domain": NAME}`: a libvirt domain that already exists (launched, adopted, or neither);
        /// its disks are named by their targets (vda, sdb).
        case domain(String)
    }

    /// The names of the observation steps, in order.
    public var observationNames: [String] {
        steps.compactMap { if case let .observe(o) = $0 { o.name } else { nil } }
    }
}

/// How one observation is made.
public enum ObserveMode: String, Sendable, CaseIterable, Codable {
    /// vmserial's probe kernel on the VM's virtual hardware (as `verify --mode probe`).
    case probe
    /// The guest's own OS with vmserial's reporter installed for the boot (as `verify --mode guest`).
    case guest
    /// The guest's own OS boots unchanged, settles and is shut down; then `inspect` reads what it recorded.
    case bootInspect = "boot-inspect"

    /// The facts an observation in this mode yields, for a VM with these disks.
    public func facts(disks: [String]) -> [FactName] {
        switch self {
        case .probe, .guest:
            var out: [FactName] = [.smbiosSerial, .smbiosUUID]
            for d in disks {
                for f in DiskFact.allCases where f != .byid || self == .guest { out.append(.disk(d, f)) }
            }
            return out
        case .bootInspect:
            return [.fstab, .windowsMachine, .windowsDisks, .windowsMounted]
        }
    }
}

/// One step of a scenario.
public enum Step: Sendable, Equatable {
    case observe(Observe)
    case perturb(Perturbation)
    case migrate(Migration)
    /// The next observation is made after the guest has booted once and rebooted itself.
    case reboot
    /// Undefine the domain and launch it again from the registry (as `verify --relaunch`).
    case relaunch
    /// Launch again from the registry: the definition vmserial assigned comes back, whatever was changed.
    case restore

    public var kind: StepKind {
        switch self {
        case .observe: .observe
        case .perturb: .perturb
        case .migrate: .migrate
        case .reboot: .reboot
        case .relaunch: .relaunch
        case .restore: .restore
        }
    }
}

/// The step kinds, as the scenario file and the reports name them.
public enum StepKind: String, Sendable, CaseIterable, Codable {
    case observe, perturb, migrate, reboot, relaunch, restore
}

public struct Observe: Sendable, Equatable {
    public var name: String
    public var expect: Expectation?
    public init(name: String, expect: Expectation? = nil) {
        self.name = name
        self.expect = expect
    }
}

/// What must have changed, and what must be the same, since an earlier observation.
public struct Expectation: Sendable, Equatable {
    /// The earlier observation compared with (resolved: the first observation when the file names none).
    public var against: String
    public var changed: [FactPattern]
    public var same: [FactPattern]
    public init(against: String, changed: [FactPattern] = [], same: [FactPattern] = []) {
        self.against = against
        self.changed = changed
        self.same = same
    }
}

/// A change to the domain's libvirt definition made behind the registry's back, as another tool would.
public enum Perturbation: Sendable, Equatable {
    /// `<serial>` set to a value, or removed (nil).
    case serial(disk: String, serial: String?)
    /// The disk moved to another bus (a conversion): new target name and address, serial kept.
    case bus(disk: String, bus: Bus)
    /// The disk's `<target dev>` renamed.
    case target(disk: String, target: String)
    /// The two disks' serials exchanged.
    case swapSerials(String, String)
    /// The second disk given the first disk's serial.
    case duplicateSerial(String, String)
    /// The SMBIOS system serial set, or removed (nil).
    case smbiosSerial(String?)
    /// libvirt's domain UUID and the SMBIOS UUID replaced together (nil: a new random one).
    case smbiosUUID(String?)
    /// The disk's data copied by qemu-img into a new file in `dir` (optionally onto a backing file)
    /// and the definition pointed at it, without its serial: what a tool that knows nothing of serials does.
    /// `dir` as in `Migration.to`; `backing` absolute (resolved against the scenario's folder).
    case copyTo(disk: String, dir: String, backing: String?)

    /// The disks this perturbation names.
    public var disks: [String] {
        switch self {
        case let .serial(d, _), let .bus(d, _), let .target(d, _), let .copyTo(d, _, _): [d]
        case let .swapSerials(a, b), let .duplicateSerial(a, b): [a, b]
        case .smbiosSerial, .smbiosUUID: []
        }
    }
}

/// vmserial's own move of a disk's data (as `vmserial migrate`): the serial stays.
public struct Migration: Sendable, Equatable {
    public var disk: String
    /// Folder the new file goes into, as written: a relative one is inside the copy's own work
    /// folder (so nothing lands among the user's files), an absolute one must exist.
    public var to: String
    public var backing: String?
    public var live: Bool
    public init(disk: String, to: String, backing: String? = nil, live: Bool = false) {
        self.disk = disk
        self.to = to
        self.backing = backing
        self.live = live
    }
}
