import DomainXML
import Foundation

/// Where vmserial keeps its state and finds its probe guest on this host.
public enum HostPaths {
    static var env: [String: String] { ProcessInfo.processInfo.environment }
    static var isRoot: Bool { geteuid() == 0 }

    /// `/var/lib/vmserial` for root, else `$XDG_STATE_HOME/vmserial` (~/.local/state/vmserial).
    public static var stateDirectory: String {
        if let d = env["VMSERIAL_STATE_DIR"], !d.isEmpty { return d }
        if isRoot { return "/var/lib/vmserial" }
        let base = env["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".local/state")
        return (base as NSString).appendingPathComponent("vmserial")
    }

    /// `--registry`, else `VMSERIAL_REGISTRY`, else `<state>/registry.sqlite`.
    public static func registry(_ flag: String?) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let e = env["VMSERIAL_REGISTRY"], !e.isEmpty { return e }
        return (stateDirectory as NSString).appendingPathComponent("registry.sqlite")
    }

    /// Scratch space for probe runs (overlays, console files); removed after each run.
    public static var runDirectory: String {
        if let d = env["VMSERIAL_RUN_DIR"], !d.isEmpty { return d }
        return (stateDirectory as NSString).appendingPathComponent("run")
    }

    /// The probe kernel and initramfs built by `make images`.
    public struct ProbeImages: Sendable {
        /// The kernel for BIOS domains: the uncompressed one (PVH entry) when built. QEMU loads it
        /// directly and the guest skips decompressing itself, which under TCG saves about 4 s a boot.
        public let kernel: String
        /// The bzImage: UEFI firmware (OVMF) boots only this one (through its EFI stub).
        public let bzImage: String
        public let initrd: String

        init(folder: String) {
            let vmlinux = folder + "/probe-vmlinux"
            bzImage = folder + "/probe-vmlinuz"
            kernel = FileManager.default.isReadableFile(atPath: vmlinux) ? vmlinux : bzImage
            initrd = folder + "/probe-initrd.img"
        }

        /// The kernel a domain with this firmware can boot.
        public func kernel(for os: DomainDefinition.OS) -> String {
            let uefi = os.firmware == "efi" || os.other.contains { $0.name == "loader" }
            return uefi ? bzImage : kernel
        }
    }

    /// `VMSERIAL_IMAGES`, else `images/build` next to (or above) the executable, else
    /// /usr/local/share/vmserial/images. Never the current folder: run as root in a folder
    /// others can write, vmserial would boot their kernel.
    public static func probeImages() throws -> ProbeImages {
        if let d = env["VMSERIAL_IMAGES"], !d.isEmpty {
            // An explicit folder is the only place looked at: no surprise fallback.
            let k = d + "/probe-vmlinuz", i = d + "/probe-initrd.img"
            guard FileManager.default.isReadableFile(atPath: k), FileManager.default.isReadableFile(atPath: i) else {
                throw VMSerialError.badInput("VMSERIAL_IMAGES=\(d) has no probe-vmlinuz and probe-initrd.img; run `make images` and point it at images/build")
            }
            return ProbeImages(folder: d)
        }
        let candidates = probeImageCandidates()
        for c in candidates {
            let k = c + "/probe-vmlinuz", i = c + "/probe-initrd.img"
            if FileManager.default.isReadableFile(atPath: k) && FileManager.default.isReadableFile(atPath: i) {
                return ProbeImages(folder: c)
            }
        }
        throw VMSerialError.badInput("the probe guest is not built (looked for probe-vmlinuz and probe-initrd.img in \(candidates.first ?? "images/build") and \(candidates.count - 1) other places); run `make images` in the vmserial checkout, or set VMSERIAL_IMAGES to its images/build folder")
    }

    /// Where `probeImages` looks without VMSERIAL_IMAGES, first match wins: the checkout or
    /// package the executable belongs to, then the install path. All absolute.
    static func probeImageCandidates() -> [String] {
        var candidates: [String] = []
        // /proc/self/exe: argv[0] may be a bare name (found on PATH) that would resolve against the current folder.
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? URL(fileURLWithPath: CommandLine.arguments.first ?? "/").resolvingSymlinksInPath().path
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(dir.appendingPathComponent("images/build").path)
            dir.deleteLastPathComponent()
        }
        candidates.append("/usr/local/share/vmserial/images")
        var seen = Set<String>()
        return candidates.filter { $0.hasPrefix("/") && seen.insert($0).inserted }
    }

    /// The fixed libguestfs appliance `make images` builds (images/build/appliance, booting the
    /// PVH probe kernel: faster under TCG), or nil to let libguestfs use its own.
    /// `VMSERIAL_APPLIANCE` names another one; set empty, it turns this off.
    public static func fixedAppliance() -> String? {
        if let a = env["VMSERIAL_APPLIANCE"] { return a.isEmpty ? nil : a }
        guard let images = try? probeImages() else { return nil }
        let dir = (images.initrd as NSString).deletingLastPathComponent + "/appliance"
        return FileManager.default.fileExists(atPath: dir + "/README.fixed") ? dir : nil
    }

    /// The host's /etc/machine-id as a UUID (Nova's sysinfo_serial=os).
    public static func hostMachineUUID() throws -> String {
        guard let raw = try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8) else {
            throw VMSerialError.badInput("smbios mode \"host\" reads /etc/machine-id, which this host lacks; use mode \"unique\" or \"custom\"")
        }
        let h = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard h.count == 32, h.allSatisfy(\.isHexDigit) else {
            throw VMSerialError.badInput("/etc/machine-id is not 32 hex digits; use smbios mode \"unique\" or \"custom\"")
        }
        let c = Array(h)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(c[$0]) }.joined(separator: "-")
    }
}
