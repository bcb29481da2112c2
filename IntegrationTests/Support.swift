import DomainXML
import Foundation
import Libvirt
import Testing
import ProcessRunner
import TestSupport

/// Every integration suite runs one test at a time: each boots TCG guests, and two cores
/// shared by several guests would only make every boot slower.
@Suite(.serialized)
enum Integration {}

/// The package root, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path

/// The integration tests drive the real `vmserial` binary, as a user or CI would.
/// VMSERIAL_BIN names it when it was built elsewhere (another --scratch-path).
func vmserialBinary() throws -> String {
    if let p = ProcessInfo.processInfo.environment["VMSERIAL_BIN"], !p.isEmpty {
        if FileManager.default.isExecutableFile(atPath: p) { return p }
        Issue.record("VMSERIAL_BIN=\(p) is not an executable")
        throw CancellationError()
    }
    for config in ["debug", "release"] {
        let p = "\(packageRoot)/.build/\(config)/vmserial"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    Issue.record("vmserial is not built: run `swift build` (make test does) before the integration tests")
    throw CancellationError()
}

let libvirtURI = ProcessInfo.processInfo.environment["LIBVIRT_DEFAULT_URI"].flatMap { $0.isEmpty ? nil : $0 } ?? "qemu:///system"

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var all: String { stdout + stderr }
}

@discardableResult
func run(_ tool: String, _ args: [String], env: [String: String] = [:]) throws -> RunResult {
    let path = tool.hasPrefix("/") ? tool : "/usr/bin/\(tool)"
    let r = try Command(path, args, environment: Command.environment(adding: env)).run()
    return RunResult(status: r.status, stdout: r.output, stderr: r.errorOutput)
}

/// Starts `vmserial ARGS` in the background with `env` added to this process's environment,
/// its standard output discarded and its standard error where `standardError` says.
func startVmserial(_ args: [String], env: [String: String], standardError: Command.Output = .discard) throws -> RunningProcess {
    try Command(try vmserialBinary(), args, environment: Command.environment(adding: env),
                standardOutput: .discard, standardError: standardError).start()
}

/// Waits until `domain` is active (running or paused), woken by libvirt's lifecycle events, while
/// `process` runs and for at most `timeout`. True when the domain is active. The process is
/// looked at once a second: it gives up without the domain sending an event.
@discardableResult
func waitUntilActive(_ domain: Libvirt.Domain, while process: RunningProcess, timeout: Duration) -> Bool {
    waitForState(domain, [.running, .paused], while: process, timeout: timeout)
}

/// Like `waitUntilActive`, but only once its CPUs run: guest mode creates the first boot's QEMU
/// paused while its appliance installs the reporter, and resumes it after.
@discardableResult
func waitUntilRunning(_ domain: Libvirt.Domain, while process: RunningProcess, timeout: Duration) -> Bool {
    waitForState(domain, [.running], while: process, timeout: timeout)
}

private func waitForState(_ domain: Libvirt.Domain, _ states: Set<DomainState>, while process: RunningProcess, timeout: Duration) -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while process.isRunning && clock.now < deadline {
        do {
            try domain.waitForState(states, timeout: min(.seconds(1), clock.now.duration(to: deadline)))
            return true
        } catch {
            // A timeout of this slice, or the domain not there yet: look at the process again.
            if (error as? LibvirtError)?.kind != .timeout { _ = process.wait(timeout: .milliseconds(100)) }
        }
    }
    return (try? domain.state()).map(states.contains) ?? false
}

/// A private world for one test: a folder with disk images and specs, its own registry,
/// unique VM names; every domain it made is undefined afterwards.
final class Sandbox {
    let dir: String
    let registry: String
    let tag: String
    let connection: Connection
    private(set) var domains: [String] = []

    init() throws {
        tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        dir = NSTemporaryDirectory() + "vmserial-it-\(tag)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o755)  // QEMU runs as libvirt-qemu under qemu:///system
        registry = dir + "/registry.sqlite"
        connection = try Connection(uri: libvirtURI)
    }

    deinit {
        for name in domains {
            if let d = try? connection.lookupDomain(name: name) {
                if (try? d.isActive) == true { try? d.destroy() }
                try? d.undefine()
            }
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    func name(_ base: String) -> String {
        let n = "it-\(base)-\(tag)"
        domains.append(n)
        return n
    }

    /// A disk image in the sandbox.
    @discardableResult
    func disk(_ file: String, format: String = "qcow2", size: String = "16M") throws -> String {
        let path = "\(dir)/\(file)"
        if !FileManager.default.fileExists(atPath: path) {
            let r = try run("qemu-img", ["create", "-q", "-f", format, path, size])
            #expect(r.status == 0, "qemu-img create: \(r.stderr)")
        }
        return path
    }

    struct DiskSpec {
        var name: String
        var bus: String
        var format = "qcow2"
        var serial: String?
        var volume: String?
        var shareable = false
        var file: String?
    }

    /// Writes a spec booting the probe kernel (so a started guest powers itself off).
    func spec(_ vm: String, disks: [DiskSpec], machine: String = "pc", extra: [String: Any] = [:]) throws -> String {
        var list: [[String: Any]] = []
        for d in disks {
            let file = d.file ?? "\(vm)-\(d.name).\(d.format == "raw" ? "img" : "qcow2")"
            try disk(file, format: d.format)
            var e: [String: Any] = ["name": d.name, "source": file, "bus": d.bus, "format": d.format]
            if let s = d.serial { e["serial"] = s }
            if let v = d.volume { e["volume"] = v }
            if d.shareable { e["shareable"] = true }
            list.append(e)
        }
        var s: [String: Any] = [
            "name": vm, "memoryMiB": 256, "vcpus": 1, "accel": "tcg", "machine": machine,
            "boot": ["kernel": "\(packageRoot)/images/build/probe-vmlinuz", "initrd": "\(packageRoot)/images/build/probe-initrd.img",
                     "cmdline": "console=ttyS0 quiet vmserial.after=poweroff"],
            "disks": list,
        ]
        for (k, v) in extra { s[k] = v }
        let path = "\(dir)/\(vm).json"
        try JSONSerialization.data(withJSONObject: s, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A text file in the sandbox.
    func write(_ file: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: "\(dir)/\(file)"))
    }

    /// Runs vmserial with this sandbox's registry and the test connection.
    @discardableResult
    func vmserial(_ args: String...) throws -> RunResult {
        try run(try vmserialBinary(), args, env: ["VMSERIAL_REGISTRY": registry, "LIBVIRT_DEFAULT_URI": libvirtURI, "VMSERIAL_ACCEL": "tcg"])
    }

    func json(_ r: RunResult) throws -> [String: Any] {
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
        return try #require(obj as? [String: Any], "not a JSON object: \(r.stdout)\n\(r.stderr)")
    }

    func definition(_ name: String) throws -> DomainXML.Domain {
        try DomainXML.Domain(xml: connection.lookupDomain(name: name).xmlDesc(inactive: true))
    }

    func exists(_ name: String) -> Bool { (try? connection.domainExists(name: name)) ?? false }

    /// What the registry holds, as `serials --json` prints it ("" when there is no registry).
    func registrySnapshot() throws -> String {
        guard FileManager.default.fileExists(atPath: registry) else { return "" }
        return try vmserial("serials", "--json").stdout
    }

    func sha256(_ path: String) throws -> String {
        String(try run("sha256sum", [path]).stdout.prefix(64))
    }
}

/// Every check of a `verify --json` document, flattened with its cycle.
func checks(_ json: [String: Any]) -> [(cycle: Int, kind: String, what: String, expected: String, seen: String, ok: Bool)] {
    ((json["cycles"] as? [[String: Any]]) ?? []).flatMap { c in
        ((c["checks"] as? [[String: Any]]) ?? []).map {
            (c["cycle"] as? Int ?? 0, c["kind"] as? String ?? "", $0["what"] as? String ?? "", $0["expected"] as? String ?? "",
             $0["seen"] as? String ?? "", $0["ok"] as? Bool ?? false)
        }
    }
}

extension Dictionary where Key == String, Value == Any {
    var disks: [[String: Any]] { (self["disks"] as? [[String: Any]]) ?? [] }
    func disk(_ name: String) -> [String: Any]? { disks.first { $0["name"] as? String == name } }
}

/// A value shared between threads under a lock.
final class Locked<T>: @unchecked Sendable {
    private var v: T
    private let lock = NSLock()
    init(_ v: T) { self.v = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return v }
    func mutate(_ f: (inout T) -> Void) { lock.lock(); f(&v); lock.unlock() }
}

/// A TCP port in `range` that nothing on 127.0.0.1 holds right now (a bind succeeds), for a
/// private server a test starts. Random within the range, so parallel tests rarely pick alike.
func freeLoopbackPort(in range: ClosedRange<Int>) -> Int {
    for _ in 0..<200 {
        let port = Int.random(in: range)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return port }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound == 0 { return port }
    }
    return Int.random(in: range)
}

/// A folder holding a `tool` that records, for every run, its pid and the signal masks it got
/// from whoever started it (grep reads its own: the shell's would show the full mask dash holds
/// while it vforks; `exec` keeps the pid), then runs the real tool. Put `folder` first on PATH.
struct RecordingTool {
    let folder: String
    let log: String

    init(_ tool: String, in directory: String) throws {
        let real = try #require(Command.which(tool), "\(tool) is not installed")
        folder = directory + "/recording-bin"
        log = directory + "/\(tool)-runs"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try """
            #!/bin/sh
            { echo "pid: $$"; grep -E '^Sig(Ign|Blk):' /proc/self/status; } >> '\(log)'
            exec '\(real)' "$@"

            """.write(toFile: folder + "/" + tool, atomically: true, encoding: .utf8)
        chmod(folder + "/" + tool, 0o755)
    }

    /// PATH with the recording folder first.
    var path: String { folder + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") }

    /// Each run: its pid and its signal masks.
    func runs() -> [(pid: Int32, masks: SignalMasks?)] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let blocks = text.components(separatedBy: "pid: ").dropFirst()
        return blocks.compactMap { block in
            let lines = block.split(separator: "\n", maxSplits: 1)
            guard let pid = lines.first.flatMap({ Int32($0) }) else { return nil }
            return (pid, SignalMasks(procStatus: lines.count > 1 ? String(lines[1]) : ""))
        }
    }
}
