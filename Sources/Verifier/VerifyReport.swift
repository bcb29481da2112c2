import DomainXML
import Foundation

/// The result of a verify run: one cycle per boot (or reboot, restart, relaunch, migration).
public struct VerifyReport: Sendable, Equatable, Codable {
    public var domain: String
    public var ok: Bool { !cycles.isEmpty && cycles.allSatisfy(\.ok) && error == nil }
    public var cycles: [Cycle]
    /// A failure that stopped the run before all cycles ran (timeout, no report).
    public var error: String?
    /// probe (vmserial's probe kernel on the domain's hardware) or guest (the guest's own OS).
    public var mode: String = "probe"
    /// Guest mode: how the libguestfs appliance reached the disks, and how often it started.
    public var appliance: Appliance?
    /// The guest's report of each cycle, in cycle order (not encoded: the checks say what they held).
    public var reports: [ProbeReport] = []
    /// Where the run's time went, stage by stage (`verify --timings`; nil otherwise).
    public var timings: [StageTime]?

    public struct Appliance: Sendable, Equatable, Codable {
        /// served (qemu-nbd, the appliance waits through the boots) or files (closed between phases).
        public var diskAccess: String
        public var starts: Int
        /// How the guest OS was found: "quick look" or "libguestfs inspection".
        public var osFoundBy: String?

        public init(diskAccess: String, starts: Int, osFoundBy: String? = nil) {
            self.diskAccess = diskAccess
            self.starts = starts
            self.osFoundBy = osFoundBy
        }
    }

    public struct Cycle: Sendable, Equatable, Codable {
        public var cycle: Int
        public var kind: CycleKind
        public var checks: [Check]
        public var seconds: Double?
        public var ok: Bool { checks.allSatisfy(\.ok) }

        public init(cycle: Int, kind: CycleKind, checks: [Check], seconds: Double? = nil) {
            self.cycle = cycle
            self.kind = kind
            self.checks = checks
            self.seconds = seconds
        }
    }

    public init(domain: String, mode: String = "probe", cycles: [Cycle] = [], error: String? = nil) {
        self.domain = domain
        self.mode = mode
        self.cycles = cycles
        self.error = error
    }

    enum CodingKeys: String, CodingKey { case domain, mode, ok, cycles, error, appliance, timings }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(domain, forKey: .domain)
        try c.encode(mode, forKey: .mode)
        try c.encode(ok, forKey: .ok)
        try c.encode(cycles, forKey: .cycles)
        try c.encodeIfPresent(error, forKey: .error)
        try c.encodeIfPresent(appliance, forKey: .appliance)
        try c.encodeIfPresent(timings, forKey: .timings)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        domain = try c.decode(String.self, forKey: .domain)
        mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? "probe"
        cycles = try c.decode([Cycle].self, forKey: .cycles)
        error = try c.decodeIfPresent(String.self, forKey: .error)
        appliance = try c.decodeIfPresent(Appliance.self, forKey: .appliance)
        timings = try c.decodeIfPresent([StageTime].self, forKey: .timings)
    }

    // MARK: outputs

    public func json() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? e.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// A plain table for terminals; failures get their reason underneath.
    public func table() -> String {
        var table = TextTable(header: ["CYCLE", "CHECK", "EXPECTED", "SEEN", "RESULT"])
        var notes: [String] = []
        for c in cycles {
            for k in c.checks {
                table.add(["\(c.cycle) \(c.kind)", k.what, show(k.expected), show(k.seen), k.ok ? "ok" : "FAIL"])
                if let d = k.detail, !k.ok { notes.append("cycle \(c.cycle) \(k.what): \(d)") }
            }
        }
        var out = table.rendered()
        if !notes.isEmpty { out += "\n" + notes.map { "FAIL \($0)" }.joined(separator: "\n") + "\n" }
        if let error { out += "\nERROR \(error)\n" }
        let total = cycles.reduce(0) { $0 + $1.checks.count }
        let failed = cycles.reduce(0) { $0 + $1.checks.filter { !$0.ok }.count }
        out += "\n\(domain): \(ok ? "OK" : "FAILED"): \(total - failed) of \(total) checks passed in \(cycles.count) cycle\(cycles.count == 1 ? "" : "s")\n"
        return out
    }

    func show(_ s: String) -> String { s.isEmpty ? "(none)" : s }

    /// JUnit XML: one testsuite per cycle, one testcase per check.
    public func junit() -> String {
        let esc = JUnitXML.escape
        let total = cycles.reduce(0) { $0 + $1.checks.count }
        let failed = cycles.reduce(0) { $0 + $1.checks.filter { !$0.ok }.count }
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        x += "<testsuites name=\"vmserial verify \(esc(domain))\" tests=\"\(total)\" failures=\"\(failed)\" errors=\"\(error == nil ? 0 : 1)\">\n"
        for c in cycles {
            let f = c.checks.filter { !$0.ok }.count
            x += "  <testsuite name=\"\(esc(domain)).cycle\(c.cycle).\(esc(c.kind.rawValue))\" tests=\"\(c.checks.count)\" failures=\"\(f)\""
            if let s = c.seconds { x += " time=\"\(String(format: "%.3f", s))\"" }
            x += ">\n"
            for k in c.checks {
                x += "    <testcase classname=\"\(esc(domain)).cycle\(c.cycle)\" name=\"\(esc(k.what))\""
                if k.ok {
                    x += "/>\n"
                } else {
                    x += ">\n      <failure message=\"\(esc(k.detail ?? "mismatch"))\">expected: \(esc(k.expected))\nseen: \(esc(k.seen))</failure>\n    </testcase>\n"
                }
            }
            x += "  </testsuite>\n"
        }
        if let error {
            x += "  <testsuite name=\"\(esc(domain)).run\" tests=\"1\" failures=\"0\" errors=\"1\">\n"
            x += "    <testcase classname=\"\(esc(domain))\" name=\"run\">\n      <error message=\"\(esc(error))\"/>\n    </testcase>\n  </testsuite>\n"
        }
        x += "</testsuites>\n"
        return x
    }
}

/// What a run prints: verify's and scenario's reports alike.
public protocol RunReport {
    var ok: Bool { get }
    func json() -> String
    func table() -> String
    func junit() -> String
}

extension VerifyReport: RunReport {}

/// Text made safe for JUnit XML attributes and text.
public enum JUnitXML {
    /// DomainXML's escaper, with C0 controls shown as `\xNN` (see `XMLEscaping`).
    public static func escape(_ s: String) -> String {
        XMLEscaping.escape(s, quote: true, showingControls: true)
    }
}
