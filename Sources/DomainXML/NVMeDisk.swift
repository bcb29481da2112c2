/// An emulated NVMe disk. libvirt 9 has no `<target bus='nvme'>`, so vmserial passes
/// `-drive`/`-device nvme` through `<qemu:commandline>` at a fixed PCI slot; the fixed slot
/// is what lets the verifier find the controller inside the guest by address.
public struct NVMeDisk: Equatable, Sendable {
    /// nvme0, nvme1, …: also the QEMU device id.
    public var target: String
    public var source: String
    public var format: String
    public var serial: String?
    public var slot: Int
    public var shareable: Bool

    /// Slots counted down from 0x1e: libvirt hands out low slots first, so these stay free
    /// in any domain with fewer than ~25 PCI devices.
    public static func slot(forIndex i: Int) -> Int { 0x1e - i }

    public init(target: String, source: String, format: String, serial: String?, slot: Int, shareable: Bool = false) {
        self.target = target
        self.source = source
        self.format = format
        self.serial = serial
        self.slot = slot
        self.shareable = shareable
    }

    var driveID: String { "vmserial-\(target)" }

    func args(machine: String?) -> [String] {
        let bus = (machine ?? "").contains("q35") ? "pcie.0" : "pci.0"
        var drive = "file=\(Self.escape(source)),format=\(format),if=none,id=\(driveID)"
        if shareable { drive += ",file.locking=off" }
        var device = "nvme,drive=\(driveID),id=\(target),bus=\(bus),addr=\(Address.hex(slot, 2))"
        if let serial { device += ",serial=\(Self.escape(serial))" }
        return ["-drive", drive, "-device", device]
    }

    /// QEMU option values escape a comma by doubling it.
    static func escape(_ s: String) -> String { s.replacingOccurrences(of: ",", with: ",,") }

    /// Splits "a=b,c=d,,e" into [(a, b), (c, "d,e")].
    static func options(_ s: String) -> [(String, String)] {
        var out: [(String, String)] = []
        var cur = ""
        var chars = Array(s)
        chars.append(",")
        var i = 0
        while i < chars.count {
            if chars[i] == "," {
                if i + 1 < chars.count - 1, chars[i + 1] == "," {
                    cur.append(",")
                    i += 2
                    continue
                }
                if let eq = cur.firstIndex(of: "=") {
                    out.append((String(cur[..<eq]), String(cur[cur.index(after: eq)...])))
                } else if !cur.isEmpty {
                    out.append((cur, ""))
                }
                cur = ""
            } else {
                cur.append(chars[i])
            }
            i += 1
        }
        return out
    }
}

extension Domain {
    /// The NVMe disks vmserial placed in `<qemu:commandline>`; setting rewrites only those arguments.
    public var nvmeDisks: [NVMeDisk] {
        get {
            var drives: [String: [(String, String)]] = [:]
            var devices: [[(String, String)]] = []
            var i = 0
            while i + 1 < qemuArgs.count {
                let opts = NVMeDisk.options(qemuArgs[i + 1])
                if qemuArgs[i] == "-drive", let id = opts.first(where: { $0.0 == "id" })?.1, id.hasPrefix("vmserial-") {
                    drives[id] = opts
                } else if qemuArgs[i] == "-device", opts.first?.0 == "nvme" {
                    devices.append(opts)
                }
                i += 2
            }
            return devices.compactMap { dev in
                func v(_ k: String, _ o: [(String, String)]) -> String? { o.first { $0.0 == k }?.1 }
                guard let driveID = v("drive", dev), let drive = drives[driveID], let target = v("id", dev),
                      let file = v("file", drive) else { return nil }
                let slot = v("addr", dev).flatMap { $0.hasPrefix("0x") ? Int($0.dropFirst(2), radix: 16) : Int($0) } ?? 0
                return NVMeDisk(target: target, source: file, format: v("format", drive) ?? "raw", serial: v("serial", dev),
                                slot: slot, shareable: v("file.locking", drive) == "off")
            }
        }
        set {
            var kept: [String] = []
            var i = 0
            while i < qemuArgs.count {
                if i + 1 < qemuArgs.count {
                    let opts = NVMeDisk.options(qemuArgs[i + 1])
                    let ours = (qemuArgs[i] == "-drive" && (opts.first { $0.0 == "id" }?.1.hasPrefix("vmserial-") ?? false))
                        || (qemuArgs[i] == "-device" && opts.first?.0 == "nvme")
                    if ours { i += 2; continue }
                }
                kept.append(qemuArgs[i])
                i += 1
            }
            qemuArgs = kept + newValue.flatMap { $0.args(machine: os.machine) }
        }
    }
}
