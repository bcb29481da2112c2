import DomainXML
import Foundation
import Inspection
import Scenario
import TestSupport
import Verifier
import VMSpec

/// The parsers that read what vmserial does not control (spec and scenario files, a guest's
/// report, libvirt's domain XML, a guest's registry hives), each as one function of bytes:
/// input either parses or is rejected with the parser's own error type. Anything else (another
/// error type, a rendered document that does not parse again) is a finding; a crash or a hang
/// is one by itself. Driven by the seeded mutation test in `make test` and by libFuzzer in `make fuzz`.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case spec
    case scenario
    case report
    case domainXML = "domain-xml"
    case hive

    /// A problem an input showed.
    public struct Finding: Error, CustomStringConvertible, Sendable {
        public var target: FuzzTarget
        public var message: String
        public var description: String { "\(target.rawValue): \(message)" }
    }

    /// Runs one input: nil when it was accepted or rejected with the parser's own error.
    public func run(_ bytes: [UInt8]) -> Finding? {
        do {
            try body(bytes)
            return nil
        } catch let f as Finding {
            return f
        } catch {
            return Finding(target: self, message: "rejected with an untyped error \(type(of: error)): \(error)")
        }
    }

    func finding(_ message: String) -> Finding { Finding(target: self, message: message) }

    func body(_ bytes: [UInt8]) throws {
        switch self {
        case .spec:
            let spec: VMSpec
            do { spec = try SpecLoader.decode(Data(bytes), path: "<fuzz>") } catch is SpecError { return }
            do {
                _ = try SpecValidator.resolve(spec, specPath: nil, baseDirectory: "/nonexistent-vmserial-fuzz", checkFiles: false)
            } catch is SpecError { return }
        case .scenario:
            do {
                _ = try ScenarioParser.parse(Data(bytes), path: "<fuzz>", baseDirectory: "/nonexistent-vmserial-fuzz")
            } catch is ScenarioError { return }
        case .report:
            let text = String(decoding: bytes, as: UTF8.self)
            _ = ProbeReport.countComplete(text)
            do { _ = try ProbeReport.parseAll(text) } catch is ProbeReportError { return }
            do { _ = try ProbeReport.parse(text) } catch is ProbeReportError { return }
        case .domainXML:
            let text = String(decoding: bytes, as: UTF8.self)
            let tree: XElement
            do { tree = try XElement.parse(text) } catch is XMLParseError { return }
            // What vmserial renders, libvirt (and vmserial) must be able to read back.
            let rendered = tree.rendered()
            do { _ = try XElement.parse(rendered) } catch {
                throw finding("a parsed tree rendered to XML that does not parse again (\(error)): \(rendered.prefix(300))")
            }
            let domain: DomainXML.Domain
            do { domain = try DomainXML.Domain(element: tree) } catch is DomainXMLError { return }
            let again = domain.xml()
            do { _ = try DomainXML.Domain(xml: again) } catch {
                throw finding("a parsed domain rendered to XML that does not read again (\(error)): \(again.prefix(300))")
            }
            _ = SerialMetadata(metadata: domain.metadata)
        case .hive:
            let hive: HiveFile
            do { hive = try HiveFile(bytes: bytes) } catch is HiveFileError { return }
            do {
                try Self.walk(hive)
                _ = WindowsSummary(try WindowsSystemHive.read(hive))
            } catch is HiveFileError { return }
        }
    }

    /// Reads every key and value reachable from the root, at most `limit` keys deep and wide
    /// (a mutated hive may name a key among its own subkeys: a cycle).
    static func walk(_ hive: HiveFile, limit: Int = 2000) throws {
        var todo = [(node: try hive.root(), depth: 0)]
        var seen = 0
        while let (node, depth) = todo.popLast(), seen < limit {
            seen += 1
            for v in try hive.values(node) { _ = (v.string, v.strings, v.dword) }
            guard depth < 16 else { continue }
            todo += try hive.children(node).map { ($0.node, depth + 1) }
        }
    }

    /// Small inputs that reach deep into each parser, for when no seed files are at hand.
    public var builtInSeeds: [[UInt8]] {
        switch self {
        case .spec:
            [Array(#"{"name":"vm1","memoryMiB":256,"vcpus":1,"disks":[{"name":"root","source":"root.qcow2","bus":"virtio","format":"qcow2","serial":"ABC-1"},{"name":"data","source":"d.img","bus":"scsi","volume":"shared/x","shareable":true}],"smbios":{"mode":"unique"}}"#.utf8)]
        case .scenario:
            [Array(#"{"scenario":"s","vm":{"name":"vm1","memoryMiB":256,"vcpus":1,"disks":[{"name":"root","source":"r.qcow2","bus":"virtio"}]},"observe":"probe","steps":[{"boot":{}},{"expect":{"disk.root.serial":"same"}}]}"#.utf8)]
        case .report:
            [Array("""
            VMSERIAL-REPORT-BEGIN version=1
            smbios serial=564d532d31 uuid=5a1e0c2d-3b4f-4a6e-9c8d-7e6f5a4b3c2d
            disk name=sdb bus=sata path=/sys/devices/pci0000:00/0000:00:04.0/ata3/block/sdb serial=5341544131202020 ataport=3
            disk name=vda bus=virtio path=/sys/devices/pci0000:00/0000:00:02.0/virtio0/block/vda serial=5649525431 ataport=
            VMSERIAL-REPORT-END lines=3

            """.utf8)]
        case .domainXML:
            [Array("<domain type='qemu'><name>vm1</name><uuid>00000000-0000-0000-0000-000000000001</uuid><memory unit='KiB'>262144</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type><kernel>/k</kernel></os><sysinfo type='smbios'><system><entry name='serial'>S1</entry></system></sysinfo><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/a.qcow2'/><target dev='vda' bus='virtio'/><serial>VS1</serial></disk><controller type='scsi' model='virtio-scsi'/></devices><metadata><vms:instance xmlns:vms='https://vmserial.dev/xmlns/instance/1' version='1'><vms:smbios mode='unique' serial='S1' uuid='u'/><vms:disk name='root' volume='vm1/root' bus='virtio' target='vda' serial='VS1' generated='yes'/></vms:instance></metadata></domain>".utf8)]
        case .hive:
            [RegistryHiveFile.empty(), Self.sampleHive()]
        }
    }

    /// A small SYSTEM-like hive (a few kB, so a fuzzer runs it thousands of times a second, where
    /// the real 12-15 MB hives run a few times): Select\Current (an inline DWORD),
    /// ControlSet001\Enum\SCSI with a REG_SZ in a data cell, MountedDevices with a 12-byte binary
    /// value, and an lh, an li and an ri subkey list.
    static func sampleHive() -> [UInt8] {
        var file = RegistryHiveFile.empty(rootName: "ROOT")
        var bin = [UInt8](repeating: 0, count: 0x1000)
        func put32(_ at: Int, _ v: UInt32) { for i in 0..<4 { bin[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
        func put16(_ at: Int, _ v: UInt16) { bin[at] = UInt8(v & 0xff); bin[at + 1] = UInt8(v >> 8) }
        bin.replaceSubrange(0..<4, with: Array("hbin".utf8))
        put32(4, 0x1000)
        put32(8, 0x1000)
        var next = 0x20   // the second bin's cells: offsets from 0x1000 on
        /// A used cell holding `payload`; returns its offset (relative to the first bin).
        func cell(_ payload: [UInt8]) -> UInt32 {
            let size = (4 + payload.count + 7) & ~7
            put32(next, UInt32(bitPattern: Int32(-size)))
            bin.replaceSubrange((next + 4)..<(next + 4 + payload.count), with: payload)
            defer { next += size }
            return UInt32(0x1000 + next)
        }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
        func vk(_ name: String, type: UInt32, data: [UInt8]) -> UInt32 {
            var v = [UInt8](repeating: 0, count: 0x14)
            v[0] = UInt8(ascii: "v"); v[1] = UInt8(ascii: "k")
            v[2] = UInt8(name.utf8.count); v[0x10] = 1          // name length; compressed name
            if data.count <= 4 {
                v.replaceSubrange(4..<8, with: le32(0x8000_0000 | UInt32(data.count)))
                v.replaceSubrange(8..<(8 + data.count), with: data)
            } else {
                v.replaceSubrange(4..<8, with: le32(UInt32(data.count)))
                v.replaceSubrange(8..<12, with: le32(cell(data)))
            }
            v.replaceSubrange(0x0C..<0x10, with: le32(type))
            return cell(v + Array(name.utf8))
        }
        func nk(_ name: String, subkeys: [UInt32] = [], list: String = "lf", values: [UInt32] = []) -> UInt32 {
            var k = [UInt8](repeating: 0, count: 0x4C)
            k[0] = UInt8(ascii: "n"); k[1] = UInt8(ascii: "k"); k[2] = 0x20   // compressed name
            k.replaceSubrange(0x10..<0x14, with: le32(0xFFFF_FFFF))
            k.replaceSubrange(0x14..<0x18, with: le32(UInt32(subkeys.count)))
            if !subkeys.isEmpty { k.replaceSubrange(0x1C..<0x20, with: le32(subkeyList(subkeys, kind: list))) }
            k.replaceSubrange(0x24..<0x28, with: le32(UInt32(values.count)))
            if !values.isEmpty { k.replaceSubrange(0x28..<0x2C, with: le32(cell(values.flatMap(le32)))) }
            k[0x48] = UInt8(name.utf8.count)
            return cell(k + Array(name.utf8))
        }
        func subkeyList(_ keys: [UInt32], kind: String) -> UInt32 {
            let count: [UInt8] = [UInt8(keys.count), 0]
            switch kind {
            case "li": return cell(Array("li".utf8) + count + keys.flatMap(le32))
            case "ri": return cell(Array("ri".utf8) + [1, 0] + le32(subkeyList(keys, kind: "li")))
            default: return cell(Array(kind.utf8) + count + keys.flatMap { le32($0) + [0, 0, 0, 0] })
            }
        }
        let select = nk("Select", values: [vk("Current", type: 4, data: le32(1)), vk("Default", type: 4, data: le32(1))])
        let instance = nk("4&2e1d0f0&0&000000", values: [vk("ClassGUID", type: 1, data: Array("{4d36e967-e325-11ce-bfc1-08002be10318}".utf16.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] }) + [0, 0])])
        let device = nk("Disk&Ven_QEMU&Prod_QEMU_HARDDISK", subkeys: [instance], list: "li")
        let scsi = nk("SCSI", subkeys: [device], list: "ri")
        let enumKey = nk("Enum", subkeys: [scsi], list: "lh")
        let controlSet = nk("ControlSet001", subkeys: [enumKey])
        let mounted = nk("MountedDevices", values: [vk("\\DosDevices\\C:", type: 3, data: [0xae, 0x46, 0x45, 0xdf, 0, 0, 0x10, 0, 0, 0, 0, 0])])
        let rootList = subkeyList([controlSet, mounted, select], kind: "lf")
        // Free space after the last cell.
        put32(next, UInt32(0x1000 - next))
        file += bin
        // The root key (the first bin's first cell) names its three subkeys.
        let root = RegistryHiveFile.baseBlockSize + 0x20 + 4
        for (i, b) in le32(3).enumerated() { file[root + 0x14 + i] = b }
        for (i, b) in le32(rootList).enumerated() { file[root + 0x1C + i] = b }
        for (i, b) in le32(UInt32(2 * RegistryHiveFile.hiveBinSize)).enumerated() { file[0x28 + i] = b }
        for (i, b) in le32(RegistryHiveFile.checksum(file)).enumerated() { file[0x1FC + i] = b }
        return file
    }
}

/// A small deterministic generator (SplitMix64): the same seed gives the same inputs, so a
/// finding is reproduced from the seed the test printed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Byte-level mutations in the manner of libFuzzer's: flips, inserts, deletes, copies within an
/// input, splices of two inputs, and tokens that matter to JSON, XML, the report and hives.
public struct Mutator: Sendable {
    public static let tokens: [[UInt8]] = [
        "{", "}", "[", "]", "\"", ",", ":", "null", "true", "-1", "0", "1e999", "18446744073709551616", "-9223372036854775809",
        "\"\\u0000\"", "\"\\ud800\"", "<", ">", "/>", "</", "&amp;", "&#0;", "&#x10FFFF;", "<![CDATA[", "]]>", "<!DOCTYPE d [<!ENTITY e \"x\">]>",
        "xmlns:vms='https://vmserial.dev/xmlns/instance/1'", "\n", "\r\n", "=", "VMSERIAL-REPORT-BEGIN version=1", "VMSERIAL-REPORT-END lines=", "ataport=", "name=",
        "disk ", "serial=", "bus=", "nk", "vk", "lf", "lh", "li", "ri", "db", "regf", "hbin",
    ].map { Array($0.utf8) } + [[0xFF, 0xFF, 0xFF, 0xFF], [0x00, 0x00, 0x00, 0x80], [0xF8, 0xFF, 0xFF, 0xFF], [0x20, 0x00, 0x00, 0x00]]

    public var maxSize: Int

    public init(maxSize: Int = 1 << 20) { self.maxSize = maxSize }

    public func mutate(_ input: [UInt8], other: [UInt8], using rng: inout SeededGenerator) -> [UInt8] {
        var b = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let at = b.isEmpty ? 0 : Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0..<9, using: &rng) {
            case 0 where !b.isEmpty: b[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            case 1 where !b.isEmpty: b[at] = UInt8.random(in: 0...255, using: &rng)
            case 2: b.insert(UInt8.random(in: 0...255, using: &rng), at: at)
            case 3 where !b.isEmpty: b.removeSubrange(at..<min(b.count, at + Int.random(in: 1...16, using: &rng)))
            case 4: b.insert(contentsOf: Self.tokens.randomElement(using: &rng)!, at: at)
            case 5 where !b.isEmpty:
                let from = Int.random(in: 0..<b.count, using: &rng)
                b.insert(contentsOf: b[from..<min(b.count, from + Int.random(in: 1...64, using: &rng))], at: at)
            case 6 where !other.isEmpty:
                let from = Int.random(in: 0..<other.count, using: &rng)
                b = Array(b[..<at]) + other[from...]
            case 7 where b.count >= 4:
                // An interesting 32-bit little-endian number over 4 bytes (hive offsets, sizes, counts).
                let v: UInt32 = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1000, UInt32(b.count)].randomElement(using: &rng)!
                let p = min(at, b.count - 4)
                for i in 0..<4 { b[p + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
            case 8 where !b.isEmpty: b.removeSubrange(at...)
            default: b.append(UInt8.random(in: 0...255, using: &rng))
            }
        }
        return b.count > maxSize ? Array(b.prefix(maxSize)) : b
    }
}
