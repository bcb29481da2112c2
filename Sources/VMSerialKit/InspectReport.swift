import Foundation
import Inspection
import Verifier

/// The result of `vmserial inspect`: each disk of the domain, the operating systems found on
/// them, and what each recorded about disk and machine identity compared with the registry.
///
/// JSON: `{"domain","ok","running","warnings","disks":[{"name","target","bus","serial","source","format","systems"}],
/// "systems":[{"root","disk","type","distro","productName","version","hostname","findings":[{"what","expected","seen","ok","info","detail"}],
/// "entries","windows"}]}`.
public struct InspectReport: Sendable, Equatable, Codable {
    public var domain: String
    /// No finding failed (findings marked info never fail).
    public var ok: Bool { systems.allSatisfy { $0.findings.allSatisfy(\.ok) } }
    public var running: Bool
    public var warnings: [String]
    public var disks: [Disk]
    public var systems: [System]

    public struct Disk: Sendable, Equatable, Codable {
        /// The disk's name in the spec (registry), or its target when the registry lacks it.
        public var name: String
        public var target: String
        public var bus: String?
        public var serial: String?
        public var source: String
        public var format: String
        /// Roots of the systems found on this disk.
        public var systems: [String]
        /// The disk's partition table as libguestfs read it (MBR signature, GPT GUIDs); nil when unread.
        public var partitionTable: PartitionTable?

        public init(name: String, target: String, bus: String?, serial: String?, source: String, format: String, systems: [String],
                    partitionTable: PartitionTable? = nil) {
            self.partitionTable = partitionTable
            self.name = name
            self.target = target
            self.bus = bus
            self.serial = serial
            self.source = source
            self.format = format
            self.systems = systems
        }
    }

    public struct System: Sendable, Equatable, Codable {
        public var root: String
        /// The disk (name) holding the root; nil when it spans disks (LVM, RAID).
        public var disk: String?
        public var type: String
        public var distro: String
        public var productName: String
        public var version: String
        public var hostname: String
        public var findings: [Finding]
        /// Linux: the device lines of /etc/fstab and /etc/crypttab.
        public var entries: [TableEntry]
        /// Windows: what the SYSTEM hive recorded.
        public var windows: WindowsRecord?
        /// Windows: the same as plain sorted values (LastConfig, disk instances, MountedDevices),
        /// for comparing boots; nil for other systems.
        public var windowsSummary: WindowsSummary?

        public init(root: String, disk: String?, type: String, distro: String, productName: String, version: String, hostname: String,
                    findings: [Finding], entries: [TableEntry], windows: WindowsRecord?) {
            self.root = root
            self.disk = disk
            self.type = type
            self.distro = distro
            self.productName = productName
            self.version = version
            self.hostname = hostname
            self.findings = findings
            self.entries = entries
            self.windows = windows
            windowsSummary = windows.map(WindowsSummary.init)
        }
    }

    public init(domain: String, running: Bool, warnings: [String], disks: [Disk], systems: [System]) {
        self.domain = domain
        self.running = running
        self.warnings = warnings
        self.disks = disks
        self.systems = systems
    }

    enum CodingKeys: String, CodingKey { case domain, ok, running, warnings, disks, systems }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(domain, forKey: .domain)
        try c.encode(ok, forKey: .ok)
        try c.encode(running, forKey: .running)
        try c.encode(warnings, forKey: .warnings)
        try c.encode(disks, forKey: .disks)
        try c.encode(systems, forKey: .systems)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        domain = try c.decode(String.self, forKey: .domain)
        running = try c.decodeIfPresent(Bool.self, forKey: .running) ?? false
        warnings = try c.decodeIfPresent([String].self, forKey: .warnings) ?? []
        disks = try c.decode([Disk].self, forKey: .disks)
        systems = try c.decode([System].self, forKey: .systems)
    }

    /// The first Windows system's summary: what the scenario runner turns into `windows.*` facts.
    public var windows: WindowsSummary? { systems.lazy.compactMap(\.windowsSummary).first }

    public func json() -> String { JSONOutput.encode(self) }

    /// Disks and the systems on them, then one row per finding; failures and notes underneath.
    public func table() -> String {
        var disksTable = TextTable(header: ["DISK", "TARGET", "BUS", "SERIAL", "OS"])
        for d in disks {
            let os = d.systems.compactMap { root in systems.first { $0.root == root } }.map { $0.summary }
            disksTable.add([d.name, d.target, d.bus ?? "?", d.serial ?? "(none)", os.isEmpty ? "(no operating system)" : os.joined(separator: "; ")])
        }
        var out = "\(domain): what the guest recorded about its disks and machine, against the registry\n\n" + disksTable.rendered()
        for s in systems where s.disk == nil {
            out += "(\(s.summary) spans several disks)\n"
        }
        var findings = TextTable(header: ["SYSTEM", "RECORDED", "EXPECTED", "SEEN", "RESULT"])
        var notes: [String] = []
        for s in systems {
            for f in s.findings {
                findings.add([s.root, f.what, f.info ? "-" : show(f.expected), show(f.seen), f.info ? "info" : (f.ok ? "ok" : "FAIL")])
                if !f.ok, let d = f.detail { notes.append("FAIL \(s.root) \(f.what): \(d)") }
            }
        }
        if systems.contains(where: { !$0.findings.isEmpty }) { out += "\n" + findings.rendered() }
        if !notes.isEmpty { out += "\n" + notes.joined(separator: "\n") + "\n" }
        if !warnings.isEmpty { out += "\n" + warnings.map { "WARNING \($0)" }.joined(separator: "\n") + "\n" }
        let checks = systems.flatMap(\.findings).filter { !$0.info }
        let failed = checks.filter { !$0.ok }.count
        let listed = systems.flatMap(\.findings).count - checks.count
        let found = systems.isEmpty ? "no operating system found" : "\(systems.count) operating system\(systems.count == 1 ? "" : "s")"
        let compared = checks.isEmpty ? "no recorded disk or machine identity to compare"
            : "\(checks.count - failed) of \(checks.count) recorded identities match the registry"
        out += "\n\(domain): \(ok ? "OK" : "FAILED"): \(found); \(compared); \(listed) listed\n"
        return out
    }

    func show(_ s: String) -> String { s.isEmpty ? "(none)" : s }
}

extension InspectReport.System {
    /// "windows Windows Server 2019 10.0 at /dev/sda1".
    public var summary: String {
        let name = productName.isEmpty || productName == "unknown" ? distro : productName
        return "\(type) \(name) \(version) at \(root)"
    }
}
