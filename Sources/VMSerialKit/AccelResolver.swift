import DomainXML
import Foundation
import Libvirt
import VMSpec

/// Picks the domain type. `auto` must not trust /dev/kvm: on some hosts KVM_CREATE_VM works
/// and the guest still never boots (ENVIRONMENT.md). So auto boots the probe kernel under
/// KVM once per host boot and uses KVM only if the guest answered.
public struct AccelResolver {
    let connection: Connection
    var log: (String) -> Void

    public init(connection: Connection, log: @escaping (String) -> Void = { _ in }) {
        self.connection = connection
        self.log = log
    }

    /// "kvm" or "qemu". `VMSERIAL_ACCEL` (auto, kvm, tcg) overrides the spec.
    /// With `mayProbe: false` (a dry run) nothing is booted: the cached proof decides, else TCG.
    public func domainType(for requested: VMSpec.Accel, mayProbe: Bool = true) throws -> String {
        var accel = requested
        if let e = ProcessInfo.processInfo.environment["VMSERIAL_ACCEL"], !e.isEmpty {
            guard let a = VMSpec.Accel(rawValue: e) else {
                throw VMSerialError.badInput("VMSERIAL_ACCEL=\(e) is not one of auto, kvm, tcg")
            }
            accel = a
        }
        switch accel {
        case .kvm: return "kvm"
        case .tcg: return "qemu"
        case .auto: break
        }
        if connection.uri.hasPrefix("test:") { return "qemu" }
        guard FileManager.default.isWritableFile(atPath: "/dev/kvm") else { return "qemu" }
        let bootID = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        let cache = (HostPaths.stateDirectory as NSString).appendingPathComponent("kvm-proof")
        if let cached = try? String(contentsOfFile: cache, encoding: .utf8) {
            let parts = cached.split(separator: " ")
            if parts.count == 2, parts[0] == bootID { return parts[1] == "kvm" ? "kvm" : "qemu" }
        }
        guard mayProbe else {
            log("accel auto: KVM not proven on this host yet and a dry run boots nothing; showing TCG")
            return "qemu"
        }
        guard let images = try? HostPaths.probeImages() else {
            log("accel auto: /dev/kvm is there but the probe guest is not built to prove it boots; using TCG (run `make images`, or set accel to kvm)")
            return "qemu"
        }
        log("accel auto: booting the probe under KVM once to see whether KVM works here")
        let works = proveKVM(images: images)
        log("accel auto: KVM \(works ? "works" : "does not boot a guest here; using TCG")")
        try? FileManager.default.createDirectory(atPath: HostPaths.stateDirectory, withIntermediateDirectories: true)
        try? "\(bootID) \(works ? "kvm" : "qemu")".write(toFile: cache, atomically: true, encoding: .utf8)
        return works ? "kvm" : "qemu"
    }

    /// Boots the probe kernel in a throw-away KVM domain and waits for its ping.
    func proveKVM(images: HostPaths.ProbeImages) -> Bool {
        guard let run = try? RunDirectory(label: "kvm-proof", for: connection) else { return false }
        defer { run.remove() }
        var os = DomainDefinition.OS(arch: "x86_64", machine: "pc", kernel: images.kernel, initrd: images.initrd,
                                     cmdline: "console=ttyS0 quiet vmserial.mode=ping vmserial.after=poweroff")
        os.smbiosMode = nil
        var d = DomainDefinition(type: "kvm", name: "vmserial-kvm-proof-\(getpid())", memoryKiB: 256 * 1024, vcpus: 1, os: os,
                                 cpu: XElement("cpu", [("mode", "host-passthrough")]), onPoweroff: "destroy")
        d.devices.other = ProbeDomain.consoleDevices(console: run.path("console.log"), report: run.path("report.txt"))
        guard let dom = try? connection.createTransientDomain(xml: d.xml(), autodestroy: true) else { return false }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: run.path("report.txt"), encoding: .utf8), text.contains("VMSERIAL-PING ok") {
                try? dom.destroy()
                return true
            }
            if (try? dom.isActive) != true { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        try? dom.destroy()
        return false
    }
}
