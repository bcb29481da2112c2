import Foundation
import SerialRegistry

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
        var rows = [["DISK", "VOLUME", "BUS", "TARGET", "SERIAL", "GENERATED", "SOURCE"]]
        rows += disks.map { [$0.name, $0.volume, $0.bus, $0.target, $0.serial ?? "(none)", $0.generated ? "yes" : "no", $0.source] }
        var w = Array(repeating: 0, count: 7)
        for r in rows { for (i, v) in r.enumerated() { w[i] = max(w[i], v.count) } }
        for r in rows {
            out += "  " + r.enumerated().map { i, v in i == 6 ? v : v.padding(toLength: w[i], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "\n"
        }
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
