import DomainXML
import Foundation
import Libvirt
import Testing
import VMSerialKit

/// Issue 13, part 3: SIGKILL at any moment loses nothing. Each command (launch, migrate offline,
/// with --backing and live, verify in probe and in guest mode) is killed at each of its stages (`KillPoint`:
/// vmserial waits there, so the kill lands exactly between a definition and the registry's
/// commit, during a copy, while a probe runs), and at points spread over its measured run time,
/// drawn from a seed (printed; VMSERIAL_KILL_SEED replays it). VMSERIAL_KILL_POINTS sets the
/// points per command (the long mode: 20); the default (the stages and one timed point) keeps
/// `make test` short. Every point prints one line: what the check named, what the repair did.
/// After each kill:
/// (a) `registry check` exits 0, or 1 naming the domain in each disagreement;
/// (b) `registry check --repair` exits 0 and every serial is what it was before the kill;
/// (c) after the repair (the next vmserial run on the domain: it clears what the killed process
///     left, saying so) and the command run again to the end: no run folder, no qemu-nbd, no
///     probe domain, no partial copy;
/// (d) the domain's file, the one the registry names, holds the disk's data; a move that did
///     not commit leaves no target behind;
/// (e) guest mode: the reporter is gone from the guest's disk (looked at from outside), taken out
///     by the next run only when the dead run's journal says it may be there.
extension Integration {
@Suite
final class KillIntegrationTests {
    let box: Sandbox
    let runDir: String
    static let env = ProcessInfo.processInfo.environment
    static let seed: UInt64 = env["VMSERIAL_KILL_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(UInt32.max))
    static let longMode = env["VMSERIAL_KILL_POINTS"].flatMap { Int($0) }

    init() throws {
        box = try Sandbox()
        runDir = box.dir + "/run"
        print("kill test: VMSERIAL_KILL_SEED=\(Self.seed)")
    }

    /// `n` kill delays spread over (0, `duration`): one in each of `n` equal slices, where in the slice drawn from the seed.
    func delays(_ n: Int, over duration: Double, salt: String) -> [Double] {
        var rng = KillRNG(seed: Self.seed ^ UInt64(salt.utf8.reduce(5381) { ($0 &* 33) &+ UInt64($1) }))
        return (0..<n).map { i in duration * (Double(i) + Double.random(in: 0.05..<0.95, using: &rng)) / Double(n) }
    }

    var env: [String: String] {
        ["VMSERIAL_REGISTRY": box.registry, "LIBVIRT_DEFAULT_URI": libvirtURI, "VMSERIAL_ACCEL": "tcg", "VMSERIAL_RUN_DIR": runDir]
    }

    @discardableResult
    func vmserial(_ args: [String]) throws -> RunResult { try run(try vmserialBinary(), args, env: env) }

    /// Runs `vmserial ARGS` to the end; its wall time.
    func timed(_ args: [String]) throws -> Double {
        let started = Date()
        let r = try vmserial(args)
        try #require(r.status == 0, "calibration run \(args): \(r.all)")
        return Date().timeIntervalSince(started)
    }

    /// Where a kill lands: at a named moment (vmserial waits there, VMSERIAL_KILL_AT), or after a delay.
    enum Point: CustomStringConvertible {
        case stage(KillPoint)
        case delay(Double)
        var description: String {
            switch self {
            case let .stage(k): "at \(k.rawValue)"
            case let .delay(d): "after \(String(format: "%.3f", d)) s"
            }
        }
    }

    /// The points for one command: each of its stages, then delays spread over its measured time
    /// up to VMSERIAL_KILL_POINTS (default: `extra` of them).
    func points(_ stages: [KillPoint], duration: Double, extra: Int, salt: String) -> [Point] {
        let timed = max(0, (Self.longMode ?? (stages.count + extra)) - stages.count)
        return stages.map(Point.stage) + delays(timed, over: duration, salt: salt).map(Point.delay)
    }

    /// Starts `vmserial ARGS` and SIGKILLs it at `point`. Returns whether the kill landed (false: the
    /// command had ended by then; at a stage, that is a failure: the stage was not reached).
    func killed(_ args: [String], at point: Point, label: String) throws -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try vmserialBinary())
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        if case let .stage(k) = point { e["VMSERIAL_KILL_AT"] = k.rawValue }
        p.environment = e
        let errFile = box.dir + "/kill-stderr.txt"
        _ = FileManager.default.createFile(atPath: errFile, contents: nil)
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errFile))
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        switch point {
        case let .delay(d):
            let deadline = Date().addingTimeInterval(d)
            while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        case let .stage(k):
            let deadline = Date().addingTimeInterval(300)
            while p.isRunning && Date() < deadline
                && !((try? String(contentsOfFile: errFile, encoding: .utf8))?.contains(k.line) ?? false) {
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        let landed = p.isRunning
        if landed { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        try? err.close()
        if case .stage = point {
            #expect(landed, "\(label): the stage was reached and the kill landed there: \((try? String(contentsOfFile: errFile, encoding: .utf8)) ?? "")")
        }
        return landed
    }

    /// Each volume's serial, from the registry (empty when the VM is not in it).
    func serials(_ vm: String) throws -> [String: String] {
        let r = try vmserial(["serials", "--domain", vm, "--json"])
        guard r.status == 0 else { return [:] }
        var out: [String: String] = [:]
        for d in try box.json(r).disks { out[d["volume"] as? String ?? "?"] = d["serial"] as? String ?? "(none)" }
        return out
    }

    func registrySource(_ vm: String, disk: String) throws -> String? {
        let r = try vmserial(["serials", "--domain", vm, "--json"])
        guard r.status == 0 else { return nil }
        return try box.json(r).disk(disk)?["source"] as? String
    }

    /// The file the domain uses for `target`: the running guest's, else the definition's.
    func domainSource(_ vm: String, _ target: String) throws -> String? {
        let dom = try box.connection.lookupDomain(name: vm)
        let xml = try dom.isActive ? dom.xmlDesc() : dom.xmlDesc(inactive: true)
        return try DomainXML.Domain(xml: xml).devices.disks.first { $0.targetDev == target }?.source
    }

    /// (a) and (b) after a kill; returns the repair's standard error (its clean-up lines) and
    /// prints one line for the point: what the check named, what the repair did.
    func checkAndRepair(_ vm: String, point: String) throws -> String {
        let before = try serials(vm)
        let stale = ((try? FileManager.default.contentsOfDirectory(atPath: runDir)) ?? []).count
        let c = try vmserial(["registry", "check", "--connect", libvirtURI, "--domain", vm, "--json"])
        #expect(c.status == 0 || c.status == 1, "\(point): registry check: \(c.all)")
        var named: [String] = []
        if c.status == 1 {
            let items = (try box.json(c)["disagreements"] as? [[String: Any]]) ?? []
            named = items.map { $0["kind"] as? String ?? "?" }
            #expect(!items.isEmpty, "\(point): exit 1 names each disagreement: \(c.stdout)")
            for item in items {
                #expect(item["domain"] as? String == vm, "\(point): a disagreement about \(vm): \(item)")
            }
        }
        let r = try vmserial(["registry", "check", "--connect", libvirtURI, "--domain", vm, "--repair", "--json"])
        #expect(r.status == 0, "\(point): registry check --repair settles everything: \(r.all)")
        let again = try vmserial(["registry", "check", "--connect", libvirtURI, "--domain", vm, "--json"])
        #expect(again.status == 0, "\(point): they agree after the repair: \(again.all)")
        #expect(try serials(vm) == before, "\(point): no assignment lost or changed by the repair")
        let cleaned = r.stderr.components(separatedBy: "cleaned up after a vmserial process that is gone").count - 1
        print("kill \(point): run folders left \(stale), check named [\(named.joined(separator: ", "))], repair exit \(r.status), dead runs cleaned \(cleaned)")
        return r.stderr
    }

    /// (c): what a killed run may leave is gone.
    func expectNothingLeft(_ vm: String, point: String, running: Bool = false) throws {
        let left = (try? FileManager.default.contentsOfDirectory(atPath: runDir)) ?? []
        #expect(left.isEmpty, "\(point): run folders left: \(left)")
        let servers = try run("/usr/bin/pgrep", ["-f", "qemu-nbd.*\(box.dir)"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(servers.isEmpty, "\(point): qemu-nbd left: \(servers)")
        let dom = try box.connection.lookupDomain(name: vm)
        #expect(try dom.isPersistent, "\(point): \(vm) is the persistent domain, not a probe")
        if !running { #expect(try !dom.isActive, "\(point): no probe domain running as \(vm)") }
    }

    /// Data of a known pattern in each disk, and a raw reference of what the guest sees.
    func fill(_ file: String, format: String, byte: Int) throws -> String {
        let w = try run("qemu-io", ["-f", format, "-c", "write -P 0x\(String(byte, radix: 16)) 0 96M", file])
        try #require(w.status == 0, "qemu-io: \(w.all)")
        let ref = file + ".reference.raw"
        let c = try run("qemu-img", ["convert", "-U", "-O", "raw", file, ref])
        try #require(c.status == 0, "\(c.all)")
        return ref
    }

    func holds(_ file: String, _ reference: String) throws -> Bool {
        try run("qemu-img", ["compare", "-U", reference, file]).status == 0
    }

    func spec(_ vm: String, stay: Bool = false) throws -> String {
        let path = try box.spec(vm, disks: [.init(name: "root", bus: "virtio"), .init(name: "data", bus: "scsi", format: "raw")])
        guard stay else { return path }
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "vmserial.after=poweroff", with: "vmserial.after=stay")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func stop(_ vm: String) {
        if let d = try? box.connection.lookupDomain(name: vm), (try? d.isActive) == true { try? d.destroy() }
    }

    @Test("registry check --repair through the binary: exit 0 once repaired, 1 with the command for what is left, 2 for bad input")
    func repairExitStatus() throws {
        let vm = box.name("krx")
        let r0 = try vmserial(["launch", try spec(vm), "--no-start"])
        try #require(r0.status == 0, "\(r0.all)")
        let registered = try serials(vm)
        // A serial lost from the definition: repaired, exit 0.
        var d = try box.definition(vm)
        let i = try #require(d.devices.disks.firstIndex { $0.targetDev == "vda" })
        let lost = try #require(d.devices.disks[i].serial)
        d.devices.disks[i].serial = nil
        _ = try box.connection.defineDomain(xml: d.xml())
        let found = try vmserial(["registry", "check", "--connect", libvirtURI, "--domain", vm])
        #expect(found.status == 1 && found.stdout.contains("domain \(vm) disk vda"), "\(found.all)")
        let fixed = try vmserial(["registry", "check", "--connect", libvirtURI, "--domain", vm, "--repair", "--json"])
        #expect(fixed.status == 0, "\(fixed.all)")
        let items = (try box.json(fixed)["disagreements"] as? [[String: Any]]) ?? []
        #expect(items.map { $0["result"] as? String } == ["repaired"], "\(fixed.stdout)")
        #expect(try box.definition(vm).devices.disks.first { $0.targetDev == "vda" }?.serial == lost)
        // A disk pointed at a file that is not there: left, exit 1, with the command that settles it.
        d = try box.definition(vm)
        d.devices.disks[i].source = box.dir + "/gone.qcow2"
        _ = try box.connection.defineDomain(xml: d.xml())
        let left = try vmserial(["registry", "check", "--connect", libvirtURI, "--domain", vm, "--repair", "--json"])
        #expect(left.status == 1, "\(left.all)")
        let doc = try box.json(left)
        #expect(doc["left"] as? Int == 1)
        let item = try #require((doc["disagreements"] as? [[String: Any]])?.first)
        #expect(item["kind"] as? String == "source" && item["result"] as? String == "unresolved")
        #expect((item["command"] as? String)?.contains("vmserial launch") == true, "\(item)")
        #expect(try serials(vm) == registered, "nothing changed in the registry")
        // Bad input: --repair without --connect.
        #expect(try vmserial(["registry", "check", "--repair"]).status == 2)
    }

    @Test("SIGKILL of launch at any point: the registry and libvirt agree or are repaired, a launch never recorded is undone")
    func killLaunch() throws {
        let calibration = box.name("klcal")
        let duration = try timed(["launch", try spec(calibration)])
        stop(calibration)
        let all = points([.launchDefined, .launchStarted, .launchCommitted], duration: duration, extra: 1, salt: "launch")
        for (i, at) in all.enumerated() {
            let vm = box.name("kl\(i)")
            let path = try spec(vm)
            let point = "launch point \(i + 1)/\(all.count) \(at) (VMSERIAL_KILL_SEED=\(Self.seed))"
            let landed = try killed(["launch", path], at: at, label: point)
            _ = try checkAndRepair(vm, point: point)
            // The registry and libvirt agree: either the VM is in both, or in neither.
            let recorded = !(try serials(vm)).isEmpty
            #expect(recorded == box.exists(vm), "\(point) (killed: \(landed)): registry has it \(recorded), libvirt \(box.exists(vm))")
            // The next run: the launch again, to the end, with the same serials if it was recorded.
            let before = try serials(vm)
            let r = try vmserial(["launch", path, "--no-start"])
            #expect(r.status == 0, "\(point): launch again: \(r.all)")
            if recorded { #expect(try serials(vm) == before, "\(point): the recorded serials are kept") }
            stop(vm)
            try expectNothingLeft(vm, point: point)
        }
    }

    /// Kills `migrate` of disk `data` at each stage and at points over its measured time, each to a new target.
    func killMigrate(kind: String) throws {
        let live = kind == "live"
        let vm = box.name("km-\(kind)")
        // Large enough that the copy takes a while (raw: only the written part is copied offline).
        try box.disk("\(vm)-data.img", format: "raw", size: "256M")
        let r0 = try vmserial(["launch", try spec(vm, stay: live), "--no-start"])
        try #require(r0.status == 0, "\(r0.all)")
        let first = try #require(try registrySource(vm, disk: "data"))
        let dataTarget = try #require(try box.json(try vmserial(["serials", "--domain", vm, "--json"])).disk("data")?["target"] as? String)
        let reference = try fill(first, format: "raw", byte: 0x5a)
        var base: String?
        if kind == "backing" {
            let b = box.dir + "/base-\(kind).qcow2"
            _ = try run("qemu-img", ["create", "-q", "-f", "qcow2", b, "64M"])
            _ = try run("qemu-io", ["-f", "qcow2", "-c", "write -P 0x11 0 4M", b])
            base = b
        }
        if live { try box.connection.lookupDomain(name: vm).start() }
        defer { stop(vm) }
        func args(_ to: String) -> [String] {
            ["migrate", "--domain", vm, "--disk", "data", "--to", to] + (base.map { ["--backing", $0] } ?? []) + (live ? ["--live"] : [])
        }
        let serialsAtStart = try serials(vm)
        let duration = try timed(args(box.dir + "/\(kind)-calibration.\(base == nil ? "img" : "qcow2")"))
        let stages: [KillPoint] = live ? [.migrateClaimed, .migrateMirroring, .migratePivoted, .migrateDefined, .migrateCommitted]
            : [.migrateClaimed, .migrateCopying, .migrateCopied, .migrateDefined, .migrateCommitted]
        let all = points(stages, duration: duration, extra: 1, salt: kind)
        for (i, at) in all.enumerated() {
            let point = "migrate \(kind) point \(i + 1)/\(all.count) \(at) (VMSERIAL_KILL_SEED=\(Self.seed))"
            let source = try #require(try registrySource(vm, disk: "data"))
            let target = box.dir + "/\(kind)-\(i).\(base == nil ? "img" : "qcow2")"
            let landed = try killed(args(target), at: at, label: point)
            let stderr = try checkAndRepair(vm, point: point)
            // (d) The registry and the domain name one file, and it holds the data.
            let now = try #require(try registrySource(vm, disk: "data"), "\(point)")
            #expect(try domainSource(vm, dataTarget) == now, "\(point): the domain uses the file the registry names")
            #expect(now == source || now == target, "\(point): the data is at the source or the target, nowhere else: \(now)")
            #expect(try holds(now, reference), "\(point) (killed: \(landed)): \(now) holds the disk's data")
            if now == source {
                #expect(!FileManager.default.exists(target), "\(point): a move that did not commit leaves no target (\(stderr))")
            }
            try expectNothingLeft(vm, point: point, running: live)
            #expect(try serials(vm) == serialsAtStart, "\(point): the serials are those of the first launch")
        }
        // The next run moves the disk once more, to the end.
        let last = box.dir + "/\(kind)-final.\(base == nil ? "img" : "qcow2")"
        let r = try vmserial(args(last))
        #expect(r.status == 0, "\(r.all)")
        #expect(try holds(last, reference))
        try expectNothingLeft(vm, point: "migrate \(kind) after the points", running: live)
    }

    @Test("SIGKILL of migrate (offline) at any point: the data is at the file the domain and the registry name")
    func killMigrateOffline() throws { try killMigrate(kind: "offline") }

    @Test("SIGKILL of migrate --backing at any point")
    func killMigrateBacking() throws { try killMigrate(kind: "backing") }

    @Test("SIGKILL of migrate --live at any point: a block copy left mirroring is aborted, a pivot is recorded")
    func killMigrateLive() throws { try killMigrate(kind: "live") }

    @Test("SIGKILL of verify (probe mode) at any point: the next run clears the run folder and the probe domain, saying so")
    func killVerify() throws {
        let vm = box.name("kv")
        let r0 = try vmserial(["launch", try spec(vm), "--no-start"])
        try #require(r0.status == 0, "\(r0.all)")
        let duration = try timed(["verify", "--domain", vm])
        let all = points([.verifyOverlays, .verifyProbeStarted, .verifyReported], duration: duration, extra: 0, salt: "verify")
        for (i, at) in all.enumerated() {
            let point = "verify point \(i + 1)/\(all.count) \(at) (VMSERIAL_KILL_SEED=\(Self.seed))"
            let landed = try killed(["verify", "--domain", vm], at: at, label: point)
            let stale = (try? FileManager.default.contentsOfDirectory(atPath: runDir)) ?? []
            let stderr = try checkAndRepair(vm, point: point)
            if !stale.isEmpty {
                #expect(stderr.contains("cleaned up after a vmserial process that is gone"), "\(point) (killed: \(landed)): \(stderr)")
            }
            let r = try vmserial(["verify", "--domain", vm])
            #expect(r.status == 0, "\(point): the next verify passes: \(r.all)")
            try expectNothingLeft(vm, point: point)
        }
    }

    /// The journals the killed runs left in their run folders, read before the next run sweeps them.
    func journals() -> [Journal] {
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: runDir)) ?? []
        return folders.compactMap { folder in
            FileManager.default.contents(atPath: "\(runDir)/\(folder)/\(Journal.fileName)").flatMap { try? JSONDecoder().decode(Journal.self, from: $0) }
        }
    }

    /// Every other process whose command line names `text`: a disk server (its socket and image),
    /// an appliance (its sockets or image files) or a guest's QEMU.
    func processes(naming text: String) -> [String] {
        let me = getpid()
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = Int32(entry), pid != me,
                  let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !raw.isEmpty else { return nil }
            let line = String(decoding: raw.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return line.contains(text) ? "\(pid): \(line)" : nil
        }
    }

    @Test("SIGKILL of verify (guest mode) at any point: the next run stops the dead run's guest, disk servers and appliance, removes its folders and takes the reporter out of the guest's disk")
    func killVerifyGuest() throws {
        let vm = box.name("kg")
        _ = try box.launchGuest(vm, extra: [.init(name: "data", bus: "scsi")])
        let image = try #require(try box.definition(vm).devices.disks.first?.source)
        let assigned = try serials(vm)
        try #require(assigned.count == 2, "\(assigned)")
        let args = ["verify", "--domain", vm, "--mode", "guest"]
        let duration = try timed(args)
        let stages: [KillPoint] = [.verifyGuestAppliance, .verifyGuestInstalled, .verifyProbeStarted, .verifyReported,
                                   .verifyGuestRead, .verifyGuestRemoving]
        let all = points(stages, duration: duration, extra: 1, salt: "verify-guest")
        for (i, at) in all.enumerated() {
            let point = "verify guest point \(i + 1)/\(all.count) \(at) (VMSERIAL_KILL_SEED=\(Self.seed))"
            let landed = try killed(args, at: at, label: point)
            let left = journals()
            let marks = left.flatMap { $0.processes ?? [] }
            let folders = left.flatMap { $0.applianceFolders ?? [] }
            let mayBeInstalled = left.contains { $0.reporter == true }
            if case let .stage(k) = at {
                #expect(mayBeInstalled == (k != .verifyGuestAppliance), "\(point): the journal says whether the reporter may be on the disk: \(left)")
                #expect(marks.contains { $0.role == .diskServer } && marks.contains { $0.role == .appliance }, "\(point): the journal names the disk servers and the appliance: \(marks)")
            }
            let stderr = try checkAndRepair(vm, point: point)
            print("kill \(point): journaled \(marks.count) processes, \(folders.count) appliance folders, reporter \(mayBeInstalled ? "may be installed: taken out by the next run" : "not written")")
            if !left.isEmpty {
                #expect(stderr.contains("cleaned up after a vmserial process that is gone"), "\(point) (killed: \(landed)): \(stderr)")
            }
            // The reporter is taken out (one appliance start) exactly when the journal says it may be there.
            #expect(stderr.contains("removed vmserial's reporter from \(vm)'s disk") == mayBeInstalled, "\(point) (killed: \(landed)): \(stderr)")
            try expectNothingLeft(vm, point: point)
            #expect(processes(naming: box.dir).isEmpty, "\(point): processes of the dead run left: \(processes(naming: box.dir))")
            #expect(marks.filter(\.isRunning).isEmpty, "\(point): journaled processes still running: \(marks.filter(\.isRunning))")
            #expect(folders.filter { FileManager.default.exists($0) }.isEmpty, "\(point): the appliance's folders left: \(folders)")
            #expect(try box.reporterLeftovers(image) == [], "\(point) (killed: \(landed)): the reporter is gone from \(image)")
            #expect(try serials(vm) == assigned, "\(point): the serial assignments are those of the launch")
        }
        // The guest boots whole again (no reporter powers it off): a guest-mode verify passes and leaves nothing.
        let r = try vmserial(args)
        #expect(r.status == 0, "verify --mode guest after the points: \(r.all)")
        try expectNothingLeft(vm, point: "verify guest after the points")
        #expect(processes(naming: box.dir).isEmpty, "\(processes(naming: box.dir))")
    }
}
}

/// SplitMix64, so that a seed gives the same kill points on every machine.
struct KillRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension FileManager {
    func exists(_ path: String) -> Bool { fileExists(atPath: path) }
}
