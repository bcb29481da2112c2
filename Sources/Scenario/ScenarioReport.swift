import Foundation
import Verifier

/// Judges one observation's expectation: each fact the patterns stand for, compared with the
/// earlier observation. A narrower pattern overrides a wider one, so `"same": ["all"],
/// "changed": ["disk.data.serial"]` means: only that serial changes.
public enum Judge {
    public static func evaluate(_ e: Expectation, before: Facts, now: Facts) -> [ScenarioReport.ExpectationResult] {
        let visible = Set(before.names).union(now.names).sorted()
        var want: [FactName: (ScenarioReport.Expected, Int)] = [:]
        func apply(_ patterns: [FactPattern], _ what: ScenarioReport.Expected) {
            for p in patterns {
                let rank = specificity(p)
                for f in p.expand(visible) where (want[f]?.1 ?? -1) <= rank { want[f] = (what, rank) }
            }
        }
        apply(e.same, .same)
        apply(e.changed, .changed)
        return want.keys.sorted().map { f in
            let b = before[f] ?? Facts.none, s = now[f] ?? Facts.none
            let expected = want[f]!.0
            return .init(fact: f.description, expected: expected, against: e.against, before: b, seen: s,
                         ok: (b != s) == (expected == .changed))
        }
    }

    static func specificity(_ p: FactPattern) -> Int {
        switch p {
        case .all: 0
        case .smbios, .windows, .disk: 1
        case .fact: 2
        }
    }
}

/// The result of `vmserial scenario run`: every step, what each observation saw, and each expectation.
///
/// JSON: `{"scenario","ok","vm","copy","observe","error","steps":[{"index","kind","name","ok","detail","seconds",
/// "facts":{…},"expectations":[{"fact","expected":"same"|"changed","against","before","seen","ok"}]}]}`.
public struct ScenarioReport: Sendable, Equatable, Codable, RunReport {
    public var scenario: String
    public var description: String?
    /// The VM the scenario was written for (the spec's name).
    public var vm: String
    /// The throw-away copy the scenario ran on (its libvirt domain name).
    public var copy: String
    public var observe: String
    public var steps: [StepResult] = []
    /// What stopped the run before its last step, if anything.
    public var error: String?
    /// Where the copy was kept (`--keep`).
    public var kept: String?
    public var ok: Bool { error == nil && steps.allSatisfy(\.ok) }

    public enum Expected: String, Sendable, Codable { case same, changed }

    public struct StepResult: Sendable, Equatable, Codable {
        public var index: Int
        public var kind: StepKind
        /// The observation's name (observe steps).
        public var name: String?
        public var ok: Bool
        /// What the step did, or why it failed.
        public var detail: String?
        public var seconds: Double?
        public var facts: [String: String]?
        public var expectations: [ExpectationResult]?
        /// Fact names in report order (not encoded: JSON objects have no order).
        public var factOrder: [String] = []

        public init(index: Int, kind: StepKind, name: String? = nil, ok: Bool = true, detail: String? = nil) {
            self.index = index
            self.kind = kind
            self.name = name
            self.ok = ok
            self.detail = detail
        }

        enum CodingKeys: String, CodingKey { case index, kind, name, ok, detail, seconds, facts, expectations }
    }

    public struct ExpectationResult: Sendable, Equatable, Codable {
        public var fact: String
        public var expected: Expected
        public var against: String
        public var before: String
        public var seen: String
        public var ok: Bool
    }

    public init(scenario: String, description: String?, vm: String, copy: String, observe: String) {
        self.scenario = scenario
        self.description = description
        self.vm = vm
        self.copy = copy
        self.observe = observe
    }

    enum CodingKeys: String, CodingKey { case scenario, description, ok, vm, copy, observe, steps, error, kept }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(scenario, forKey: .scenario)
        try c.encodeIfPresent(description, forKey: .description)
        try c.encode(ok, forKey: .ok)
        try c.encode(vm, forKey: .vm)
        try c.encode(copy, forKey: .copy)
        try c.encode(observe, forKey: .observe)
        try c.encode(steps, forKey: .steps)
        try c.encodeIfPresent(error, forKey: .error)
        try c.encodeIfPresent(kept, forKey: .kept)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        scenario = try c.decode(String.self, forKey: .scenario)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        vm = try c.decode(String.self, forKey: .vm)
        copy = try c.decode(String.self, forKey: .copy)
        observe = try c.decode(String.self, forKey: .observe)
        steps = try c.decode([StepResult].self, forKey: .steps)
        error = try c.decodeIfPresent(String.self, forKey: .error)
        kept = try c.decodeIfPresent(String.self, forKey: .kept)
    }

    public func json() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? e.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// One block per step; an observation shows each fact side by side with the one it is compared with.
    public func table() -> String {
        var out = "scenario \(scenario) on \(copy) (a copy of \(vm)), observed by \(observe)\n"
        if let description { out += "  \(description)\n" }
        for s in steps {
            out += "\n\(s.index + 1). \(s.kind.rawValue)\(s.name.map { " \($0)" } ?? "")"
            if let d = s.detail { out += ": \(d)" }
            if let t = s.seconds { out += String(format: " (%.1f s)", t) }
            out += s.ok ? "\n" : "  FAILED\n"
            guard let facts = s.facts else { continue }
            let judged = Dictionary((s.expectations ?? []).map { ($0.fact, $0) }, uniquingKeysWith: { a, _ in a })
            let against = s.expectations?.first?.against
            var table = TextTable(header: ["FACT", against.map { "AGAINST \($0)" } ?? "", "SEEN", "CHANGED", "EXPECTED", "RESULT"])
            if against == nil { table = TextTable(header: ["FACT", "SEEN"]) }
            for f in s.factOrder {
                let seen = facts[f] ?? Facts.none
                if against == nil {
                    table.add([f, seen])
                } else if let j = judged[f] {
                    table.add([f, j.before, seen, j.before == seen ? "no" : "yes", j.expected.rawValue, j.ok ? "ok" : "FAIL"])
                } else {
                    table.add([f, "", seen, "", "", ""])
                }
            }
            out += table.rendered(indent: "   ")
        }
        if let error { out += "\nERROR \(error)\n" }
        if let kept { out += "\nkept: \(kept)\n" }
        let all = steps.flatMap { $0.expectations ?? [] }
        let failed = all.filter { !$0.ok }.count
        out += "\n\(scenario): \(ok ? "OK" : "FAILED"): \(all.count - failed) of \(all.count) expectations held"
        out += "\(error == nil ? "" : "; the run stopped early")\n"
        return out
    }

    /// JUnit XML: one testcase per expectation (and one error case for a step that failed).
    public func junit() -> String {
        let esc = JUnitXML.escape
        let all = steps.flatMap { $0.expectations ?? [] }
        let failed = all.filter { !$0.ok }.count
        let errors = steps.filter { !$0.ok && ($0.expectations ?? []).allSatisfy(\.ok) }.count
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        x += "<testsuites name=\"vmserial scenario \(esc(scenario))\" tests=\"\(all.count + errors)\" failures=\"\(failed)\" errors=\"\(errors)\">\n"
        x += "  <testsuite name=\"\(esc(scenario))\" tests=\"\(all.count + errors)\" failures=\"\(failed)\" errors=\"\(errors)\">\n"
        for s in steps {
            for e in s.expectations ?? [] {
                x += "    <testcase classname=\"\(esc(scenario)).\(esc(s.name ?? "step\(s.index + 1)"))\" name=\"\(esc(e.fact)) \(e.expected.rawValue) since \(esc(e.against))\""
                if e.ok {
                    x += "/>\n"
                } else {
                    let why = e.expected == .same ? "changed" : "did not change"
                    x += ">\n      <failure message=\"\(esc(e.fact)) \(why) since \(esc(e.against))\">\(esc(e.against)): \(esc(e.before))\nseen: \(esc(e.seen))</failure>\n    </testcase>\n"
                }
            }
            if !s.ok && (s.expectations ?? []).allSatisfy(\.ok) {
                x += "    <testcase classname=\"\(esc(scenario))\" name=\"step \(s.index + 1) \(s.kind.rawValue)\">\n"
                x += "      <error message=\"\(esc(s.detail ?? "failed"))\"/>\n    </testcase>\n"
            }
        }
        x += "  </testsuite>\n</testsuites>\n"
        return x
    }
}
