import Foundation
import SerialRegistry
import Verifier

/// The JSON shape of `vmserial serials --json` (and of `launch --json`'s assignment).
public struct AssignmentView: Codable, Sendable, Equatable {
    public var domain: String
    public var uuid: String
    public var smbiosMode: String
    public var smbiosSerial: String?
    public var disks: [DiskView]

    public struct DiskView: Codable, Sendable, Equatable {
        public var name: String
        public var volume: String
        public var bus: String
        public var target: String
        public var serial: String?
        public var source: String
        public var generated: Bool
    }

    public init(_ a: Assignment) {
        domain = a.vm
        uuid = a.uuid
        smbiosMode = a.smbiosMode
        smbiosSerial = a.smbiosSerial
        disks = a.disks.map {
            DiskView(name: $0.name, volume: $0.volume.value, bus: $0.bus.rawValue, target: $0.target, serial: $0.serial,
                     source: $0.source, generated: $0.generated)
        }
    }

    /// A table for terminals.
    public func table() -> String {
        var out = "\(domain)\n  uuid           \(uuid)\n  smbios serial  \(smbiosSerial ?? "(none)") (mode \(smbiosMode))\n"
        var table = TextTable(header: ["DISK", "VOLUME", "BUS", "TARGET", "SERIAL", "GENERATED", "SOURCE"])
        for d in disks { table.add([d.name, d.volume, d.bus, d.target, d.serial ?? "(none)", d.generated ? "yes" : "no", d.source]) }
        out += table.rendered(indent: "  ")
        return out
    }
}

public enum JSONOutput {
    public static func encode<T: Encodable>(_ v: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? e.encode(v)) ?? Data("null".utf8), as: UTF8.self)
    }
}
