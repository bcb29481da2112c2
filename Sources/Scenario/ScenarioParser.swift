import Foundation
import SerialPolicy
import VMSpec

/// Errors in a scenario file: every one is bad input (exit 2), and all problems are listed at once.
public enum ScenarioError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case invalid(path: String, problems: [SpecProblem])

    public var problems: [SpecProblem] {
        if case let .invalid(_, p) = self { return p }
        return []
    }

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read scenario \(path): \(reason)"
        case let .invalid(path, problems):
            return SpecProblem.list(problems, in: "scenario \(path)")
        }
    }
}

/// A scenario with its VM spec, both checked.
public struct LoadedScenario: Sendable {
    public var scenario: Scenario
    public var spec: ResolvedSpec
    /// The scenario file (nil for one built in code).
    public var path: String?
    public var disks: [String] { spec.disks.map(\.name) }
}

/// Reads a scenario file strictly: unknown keys, wrong types, unknown disks or facts, an
/// `against` that names no earlier observation, a fact the observe mode cannot see — every
/// problem is collected with its field (`steps[2].expect.changed[0]`) and the fix.
public enum ScenarioParser {
    static let topKeys = ["scenario", "description", "vm", "observe", "settle", "timeout", "steps"]
    static let stepKinds = StepKind.allCases.map(\.rawValue)

    /// Reads a domain's definition as a resolved spec for `"vm": {"domain": NAME}` (libvirt is
    /// outside this module: the caller passes it). Its disks are named by their targets.
    public typealias DomainSpecReader = @Sendable (String) throws -> ResolvedSpec

    public static func load(path: String, observeOverride: ObserveMode? = nil, domainSpec: DomainSpecReader? = nil) throws -> LoadedScenario {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file"
            throw ScenarioError.unreadable(path: path, reason: reason)
        }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        return try parse(data, path: url.path, baseDirectory: url.deletingLastPathComponent().path, observeOverride: observeOverride,
                         domainSpec: domainSpec)
    }

    public static func parse(_ data: Data, path: String, baseDirectory: String, observeOverride: ObserveMode? = nil,
                             domainSpec: DomainSpecReader? = nil) throws -> LoadedScenario {
        var problems: [SpecProblem] = []
        func fail(_ field: String, _ message: String, _ fix: String) { problems.append(SpecProblem(field, message, fix: fix)) }
        func absolute(_ p: String) -> String {
            let expanded = (p as NSString).expandingTildeInPath
            if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded).standardizedFileURL.path }
            return URL(fileURLWithPath: baseDirectory).appendingPathComponent(expanded).standardizedFileURL.path
        }

        let top: [String: Any]
        do {
            guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ScenarioError.invalid(path: path, problems: [SpecProblem("(file)", "the top level is not a JSON object", fix: "write the scenario as {\"scenario\": …, \"vm\": …, \"steps\": […]}")])
            }
            top = obj
        } catch let e as ScenarioError {
            throw e
        } catch {
            throw ScenarioError.invalid(path: path, problems: [SpecProblem("(file)", "not valid JSON (\((error as NSError).localizedDescription))", fix: "check the JSON syntax")])
        }
        unknownKeys(top, known: topKeys, at: "", &problems)

        // scenario, description
        var name = ""
        switch top["scenario"] {
        case let s as String where isName(s): name = s
        case let s as String: fail("scenario", "\"\(s)\" is not a usable name (letters, digits, '_', '.', '-'; at most 40)", "name it like \"serial-dropped\"")
        case nil: fail("scenario", "required key \"scenario\" is missing", "add \"scenario\": \"<name>\"")
        default: fail("scenario", "expected a string", "give the scenario's name as a string")
        }
        var description: String?
        if let d = top["description"] {
            if let s = d as? String { description = s } else { fail("description", "expected a string", "describe the scenario in a sentence") }
        }

        // observe, settle, timeout
        var observe = ObserveMode.probe
        if let o = top["observe"] {
            if let s = o as? String, let m = ObserveMode(rawValue: s) { observe = m } else {
                fail("observe", "\(show(o)) is not an observe mode", "use one of: \(ObserveMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if let m = observeOverride { observe = m }
        func seconds(_ key: String, _ def: Double) -> Double {
            guard let v = top[key] else { return def }
            guard let n = v as? NSNumber, !(v is Bool), n.doubleValue > 0, n.doubleValue <= 3600 else {
                fail(key, "\(show(v)) is not a number of seconds between 0 and 3600", "give e.g. \"\(key)\": \(Int(def))")
                return def
            }
            return n.doubleValue
        }
        let settle = seconds("settle", 60)
        let timeout = seconds("timeout", 180)

        // vm: a spec file, or the spec inline
        var vm: Scenario.VMSource = .inline(json: "{}")
        var spec: ResolvedSpec?
        func specProblems(_ e: SpecError) {
            switch e {
            case let .invalid(_, ps): for p in ps { problems.append(SpecProblem("vm.\(p.field)", p.message, fix: p.fix)) }
            case .unreadable, .malformed: fail("vm", "\(e)", "point \"vm\" at a readable VM spec (relative to the scenario's folder)")
            }
        }
        switch top["vm"] {
        case let s as String:
            let p = absolute(s)
            vm = .file(p)
            do { spec = try SpecLoader.load(path: p) } catch let e as SpecError { specProblems(e) } catch { fail("vm", "\(error)", "fix the VM spec") }
        case let o as [String: Any] where o.keys.contains("domain"):
            if o.count != 1 {
                fail("vm", "\"domain\" stands alone: the domain's definition is the VM", "give either {\"domain\": NAME} or a spec object")
            } else if let name = o["domain"] as? String, !name.isEmpty {
                vm = .domain(name)
                if let domainSpec {
                    do { spec = try domainSpec(name) } catch let e as SpecError { specProblems(e) } catch { fail("vm.domain", "\(error)", "name a domain libvirt has (`virsh list --all`)") }
                } else {
                    fail("vm.domain", "a scenario on an existing domain reads it from libvirt", "run it with `vmserial scenario run`")
                }
            } else {
                fail("vm.domain", "expected a domain name", "give {\"domain\": \"NAME\"}")
            }
        case let o as [String: Any]:
            let json = (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])) ?? Data()
            vm = .inline(json: String(decoding: json, as: UTF8.self))
            do {
                let s = try SpecLoader.decode(json, path: "\(path) (vm)")
                spec = try SpecValidator.resolve(s, specPath: nil, baseDirectory: baseDirectory)
            } catch let e as SpecError { specProblems(e) } catch { fail("vm", "\(error)", "fix the VM spec") }
        case nil:
            fail("vm", "required key \"vm\" is missing", "add \"vm\": \"vm.json\" (a VM spec beside the scenario) or the spec object itself")
        default:
            fail("vm", "expected a spec file's path or a spec object", "give \"vm\": \"vm.json\" or {\"name\": …, \"disks\": […]}")
        }
        let disks = spec?.disks.map(\.name) ?? []
        let known = spec != nil
        func checkDisk(_ d: Any?, _ field: String) -> String? {
            guard let s = d as? String, !s.isEmpty else {
                fail(field, d == nil ? "required key is missing" : "expected a disk name", "name one of the VM's disks: \(disks.joined(separator: ", "))")
                return nil
            }
            if known, !disks.contains(s) {
                fail(field, "the VM has no disk \"\(s)\"", "name one of its disks: \(disks.joined(separator: ", "))")
                return nil
            }
            return s
        }

        // steps
        var steps: [Step] = []
        var observed: [String] = []
        let visible = observe.facts(disks: disks)
        guard let rawSteps = top["steps"] as? [Any], !rawSteps.isEmpty else {
            fail("steps", top["steps"] == nil ? "required key \"steps\" is missing" : "expected a non-empty list of steps",
                 "add \"steps\": [{\"observe\": \"before\"}, …]")
            throw ScenarioError.invalid(path: path, problems: problems)
        }
        for (i, raw) in rawSteps.enumerated() {
            let at = "steps[\(i)]"
            guard let step = raw as? [String: Any] else {
                fail(at, "expected an object", "write a step as {\"observe\": \"name\"}, {\"perturb\": {…}}, {\"restore\": {}}, …")
                continue
            }
            let kinds = step.keys.filter { stepKinds.contains($0) }
            guard kinds.count == 1, let kindName = kinds.first, let kind = StepKind(rawValue: kindName) else {
                fail(at, kinds.isEmpty ? "names no step kind" : "names several step kinds (\(kinds.sorted().joined(separator: ", ")))",
                     "give exactly one of: \(stepKinds.joined(separator: ", "))")
                continue
            }
            unknownKeys(step, known: kind == .observe ? ["observe", "expect"] : [kindName], at: at, &problems)
            let value = step[kindName]!
            switch kind {
            case .observe:
                guard let n = value as? String, isName(n) else {
                    fail("\(at).observe", "expected the observation's name (letters, digits, '_', '.', '-')", "e.g. {\"observe\": \"before\"}")
                    continue
                }
                if observed.contains(n) { fail("\(at).observe", "an earlier step already observes \"\(n)\"", "give each observation its own name") }
                var expect: Expectation?
                if let e = step["expect"] {
                    expect = parseExpect(e, at: "\(at).expect", first: observed.first, earlier: observed, disks: disks, known: known,
                                         visible: visible, mode: observe, &problems)
                }
                observed.append(n)
                steps.append(.observe(Observe(name: n, expect: expect)))
            case .perturb:
                guard let p = value as? [String: Any] else {
                    fail("\(at).perturb", "expected an object", "e.g. {\"perturb\": {\"disk\": \"data\", \"serial\": null}}")
                    continue
                }
                // Its own list: checkDisk writes to `problems` while the perturbation is read.
                var found: [SpecProblem] = []
                let parsed = parsePerturbation(p, at: "\(at).perturb", checkDisk: checkDisk, absolute: absolute, &found)
                problems += found
                if let parsed { steps.append(.perturb(parsed)) }
            case .migrate:
                guard let m = value as? [String: Any] else {
                    fail("\(at).migrate", "expected an object", "e.g. {\"migrate\": {\"disk\": \"data\", \"to\": \"moved\"}}")
                    continue
                }
                unknownKeys(m, known: ["disk", "to", "backing", "live"], at: "\(at).migrate", &problems)
                let d = checkDisk(m["disk"], "\(at).migrate.disk")
                guard let to = m["to"] as? String, !to.isEmpty else {
                    fail("\(at).migrate.to", "expected a folder", "give the folder the disk moves into (relative: inside the copy's own folder)")
                    continue
                }
                var backing: String?
                if let b = m["backing"] {
                    if let s = b as? String { backing = absolute(s) } else { fail("\(at).migrate.backing", "expected a path", "give the base image's path") }
                }
                var live = false
                if let l = m["live"] {
                    if let b = l as? Bool { live = b } else { fail("\(at).migrate.live", "expected true or false", "give \"live\": false") }
                }
                if live {
                    fail("\(at).migrate.live", "a live move needs a running guest, which scenario steps do not keep between observations",
                         "move offline (\"live\": false), or use `vmserial verify --migrate-to DIR --live` for a live move")
                }
                if let d { steps.append(.migrate(Migration(disk: d, to: to, backing: backing, live: live))) }
            case .reboot, .relaunch, .restore:
                if !(value is [String: Any] && (value as! [String: Any]).isEmpty) && (value as? Bool) != true {
                    fail("\(at).\(kindName)", "expected {} (this step takes no options)", "write {\"\(kindName)\": {}}")
                }
                steps.append(kind == .reboot ? .reboot : kind == .relaunch ? .relaunch : .restore)
            }
        }
        if observed.isEmpty { fail("steps", "no step observes the guest", "add {\"observe\": \"before\"} (and later ones with \"expect\")") }
        if case .reboot = steps.last { fail("steps[\(rawSteps.count - 1)]", "a reboot must come before an observation", "add an {\"observe\": …} step after it") }
        if !problems.isEmpty { throw ScenarioError.invalid(path: path, problems: problems) }
        let s = Scenario(name: name, description: description, vm: vm, observe: observe, settle: settle, timeout: timeout, steps: steps)
        return LoadedScenario(scenario: s, spec: spec!, path: path)
    }

    static func parseExpect(_ raw: Any, at: String, first: String?, earlier: [String], disks: [String], known: Bool,
                            visible: [FactName], mode: ObserveMode, _ problems: inout [SpecProblem]) -> Expectation? {
        guard let e = raw as? [String: Any] else {
            problems.append(SpecProblem(at, "expected an object", fix: "e.g. {\"against\": \"before\", \"changed\": [\"disk.data.serial\"], \"same\": [\"smbios\"]}"))
            return nil
        }
        unknownKeys(e, known: ["against", "changed", "same"], at: at, &problems)
        var against = first
        if let a = e["against"] {
            if let s = a as? String, earlier.contains(s) { against = s } else {
                let name = (a as? String).map { "\"\($0)\"" } ?? show(a)
                problems.append(SpecProblem("\(at).against", "\(name) is not an earlier observation",
                                            fix: earlier.isEmpty ? "observe something first: an expectation compares with an earlier observation"
                                                : "name one that comes before this step: \(earlier.joined(separator: ", "))"))
                return nil
            }
        }
        guard let against else {
            problems.append(SpecProblem(at, "there is no earlier observation to compare with", fix: "add an {\"observe\": \"before\"} step first"))
            return nil
        }
        func list(_ key: String) -> [FactPattern] {
            guard let raw = e[key] else { return [] }
            guard let items = raw as? [Any] else {
                problems.append(SpecProblem("\(at).\(key)", "expected a list of facts", fix: "e.g. [\"disk.data.serial\", \"smbios\"]"))
                return []
            }
            var out: [FactPattern] = []
            for (j, item) in items.enumerated() {
                let field = "\(at).\(key)[\(j)]"
                guard let text = item as? String else {
                    problems.append(SpecProblem(field, "expected a fact's name", fix: "e.g. \"disk.data.serial\""))
                    continue
                }
                guard known || !text.hasPrefix("disk.") else { continue }   // the VM spec failed: already reported
                guard let p = FactPattern(text, disks: disks) else {
                    problems.append(SpecProblem(field, "\"\(text)\" is not a fact", fix: "use all, smbios, smbios.serial, smbios.uuid, disk.<name>, disk.<name>.present|serial|bus|byid, fstab, windows, windows.machine|disks|mounted; the disks are \(disks.joined(separator: ", "))"))
                    continue
                }
                if p.expand(visible).isEmpty {
                    problems.append(SpecProblem(field, "observe mode \(mode.rawValue) cannot see \(text)",
                                                fix: "expect only what \(mode.rawValue) sees (\(visibleSummary(mode))), or change \"observe\""))
                    continue
                }
                out.append(p)
            }
            return out
        }
        let changed = list("changed"), same = list("same")
        if e["changed"] == nil && e["same"] == nil {
            problems.append(SpecProblem(at, "expects nothing", fix: "list facts under \"changed\" and/or \"same\""))
        }
        for p in Set(changed).intersection(same) {
            problems.append(SpecProblem(at, "\(p) is listed both as changed and as same", fix: "keep it in one list"))
        }
        return Expectation(against: against, changed: changed, same: same)
    }

    static func visibleSummary(_ m: ObserveMode) -> String {
        switch m {
        case .probe: "smbios and each disk's present, serial, bus"
        case .guest: "smbios and each disk's present, serial, bus, byid"
        case .bootInspect: "fstab and windows.*"
        }
    }

    static func parsePerturbation(_ p: [String: Any], at: String, checkDisk: (Any?, String) -> String?, absolute: (String) -> String,
                                  _ problems: inout [SpecProblem]) -> Perturbation? {
        func fail(_ field: String, _ message: String, _ fix: String) { problems.append(SpecProblem(field, message, fix: fix)) }
        let forms = "{\"disk\": D, \"serial\": S|null}, {\"disk\": D, \"bus\": B}, {\"disk\": D, \"target\": T}, {\"serials\": \"swap\"|\"duplicate\", \"disks\": [A, B]}, {\"smbios\": {\"serial\": S|null}}, {\"smbios\": {\"uuid\": \"new\"|UUID}}, {\"disk\": D, \"copyTo\": DIR, \"backing\": BASE}"
        if let sm = p["smbios"] {
            unknownKeys(p, known: ["smbios"], at: at, &problems)
            guard let o = sm as? [String: Any], o.count == 1, let key = o.keys.first else {
                fail("\(at).smbios", "expected exactly one of serial, uuid", "e.g. {\"smbios\": {\"uuid\": \"new\"}}")
                return nil
            }
            switch key {
            case "serial":
                if o["serial"] is NSNull { return .smbiosSerial(nil) }
                guard let s = o["serial"] as? String, !s.isEmpty, s.allSatisfy(SerialRules.isAllowed) else {
                    fail("\(at).smbios.serial", "expected a serial of letters, digits, '_', '.', '+', '-' or null", "give e.g. \"LICENCE-0043\", or null to remove it")
                    return nil
                }
                return .smbiosSerial(s)
            case "uuid":
                guard let s = o["uuid"] as? String else {
                    fail("\(at).smbios.uuid", "expected \"new\" or a UUID", "give \"new\" for a random one")
                    return nil
                }
                if s == "new" { return .smbiosUUID(nil) }
                guard UUID(uuidString: s) != nil else {
                    fail("\(at).smbios.uuid", "\"\(s)\" is not a UUID", "give \"new\" or a UUID such as 6f1c3f1e-0c1d-4d8e-9a63-1f0e2b3c4d5e")
                    return nil
                }
                return .smbiosUUID(s.lowercased())
            default:
                fail("\(at).smbios.\(key)", "unknown key \"\(key)\"", "use serial or uuid")
                return nil
            }
        }
        if let how = p["serials"] {
            unknownKeys(p, known: ["serials", "disks"], at: at, &problems)
            guard let pair = p["disks"] as? [Any], pair.count == 2 else {
                fail("\(at).disks", "expected two disk names", "e.g. \"disks\": [\"data\", \"logs\"]")
                return nil
            }
            let a = checkDisk(pair[0], "\(at).disks[0]"), b = checkDisk(pair[1], "\(at).disks[1]")
            guard let a, let b else { return nil }
            if a == b { fail("\(at).disks", "names \(a) twice", "name two different disks"); return nil }
            switch how as? String {
            case "swap": return .swapSerials(a, b)
            case "duplicate": return .duplicateSerial(a, b)
            default:
                fail("\(at).serials", "\(show(how)) is not swap or duplicate", "use \"swap\" (exchange the two serials) or \"duplicate\" (the second gets the first's)")
                return nil
            }
        }
        guard p["disk"] != nil else {
            fail(at, "names no change", "use one of: \(forms)")
            return nil
        }
        let changeKeys = ["serial", "bus", "target", "copyTo"].filter { p[$0] != nil }
        guard changeKeys.count == 1, let change = changeKeys.first else {
            fail(at, changeKeys.isEmpty ? "names a disk but no change" : "names several changes (\(changeKeys.joined(separator: ", ")))",
                 "one change per step: \(forms)")
            return nil
        }
        unknownKeys(p, known: change == "copyTo" ? ["disk", "copyTo", "backing"] : ["disk", change], at: at, &problems)
        guard let d = checkDisk(p["disk"], "\(at).disk") else { return nil }
        switch change {
        case "serial":
            if p["serial"] is NSNull { return .serial(disk: d, serial: nil) }
            // Longer than the bus keeps is allowed on purpose: that is how QEMU's silent truncation is reproduced.
            guard let s = p["serial"] as? String, !s.isEmpty, s.allSatisfy(SerialRules.isAllowed) else {
                fail("\(at).serial", "expected a serial of letters, digits, '_', '.', '+', '-' (what libvirt accepts) or null",
                     "give e.g. \"DATA-0002\", or null to remove the disk's serial")
                return nil
            }
            return .serial(disk: d, serial: s)
        case "bus":
            guard let s = p["bus"] as? String, let b = Bus(rawValue: s) else {
                fail("\(at).bus", "\(show(p["bus"]!)) is not a bus", "use one of: \(Bus.allCases.map(\.rawValue).joined(separator: ", "))")
                return nil
            }
            return .bus(disk: d, bus: b)
        case "target":
            guard let s = p["target"] as? String, s.count >= 3, s.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber) }) else {
                fail("\(at).target", "\(show(p["target"]!)) is not a target device name", "give e.g. \"vdc\" or \"sdb\"")
                return nil
            }
            return .target(disk: d, target: s)
        default:
            guard let dir = p["copyTo"] as? String, !dir.isEmpty else {
                fail("\(at).copyTo", "expected a folder", "give the folder the copy goes into (relative: inside the copy's own folder)")
                return nil
            }
            var backing: String?
            if let b = p["backing"] {
                guard let s = b as? String else { fail("\(at).backing", "expected a path", "give the base image's path"); return nil }
                backing = absolute(s)
            }
            return .copyTo(disk: d, dir: dir, backing: backing)
        }
    }

    static func unknownKeys(_ o: [String: Any], known: [String], at: String, _ problems: inout [SpecProblem]) {
        for k in o.keys.sorted() where !known.contains(k) {
            problems.append(SpecProblem(at.isEmpty ? k : "\(at).\(k)", "unknown key \"\(k)\"", fix: "remove it or use one of: \(known.joined(separator: ", "))"))
        }
    }

    static func isName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 40 && !s.hasPrefix("-") && !s.hasPrefix(".")
            && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") }
    }

    static func show(_ v: Any) -> String {
        switch v {
        case let s as String: "\"\(s)\""
        case is NSNull: "null"
        default: "\(v)"
        }
    }
}
