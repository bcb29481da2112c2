/// One report printed by the probe guest (images/probe-init) on its second serial port:
///
/// ```
/// VMSERIAL-REPORT-BEGIN version=1
/// smbios serial=<hex> uuid=<text>
/// disk name=<kname> bus=<bus> path=<sysfs path> serial=<hex> ataport=<n>
/// VMSERIAL-REPORT-END lines=<n>
/// ```
/// Serials travel hex-encoded so padding and truncation arrive byte for byte.
///
/// Version 2 is what the in-guest reporter of `verify --mode guest` writes (GuestReporter):
/// version 1 plus `byid name=<link> target=<kernel name>` lines (the guest's /dev/disk/by-id)
/// and one `boot n=<boot number> init=<systemd|initd|rclocal>` line.
public struct ProbeReport: Equatable, Sendable {
    public static let supportedVersion = 2
    public static let supportedVersions = 1...2
    public var version: Int
    public var smbiosSerial: String
    public var smbiosUUID: String
    public var devices: [GuestDevice]
    /// /dev/disk/by-id as the guest's own userland made it (version 2; empty without udev or the like).
    public var byID: [ByIDLink] = []
    /// The guest's boot number since the reporter was installed, and the hook that ran it (version 2).
    public var boot: Int?
    public var initSystem: String?

    public init(version: Int = 1, smbiosSerial: String, smbiosUUID: String, devices: [GuestDevice]) {
        self.version = version
        self.smbiosSerial = smbiosSerial
        self.smbiosUUID = smbiosUUID
        self.devices = devices
    }
}

/// One /dev/disk/by-id entry: the link's name and the kernel device it points at.
public struct ByIDLink: Equatable, Sendable {
    public var name: String
    public var target: String
    public init(name: String, target: String) {
        self.name = name
        self.target = target
    }
}

/// A block device as the guest kernel shows it.
public struct GuestDevice: Equatable, Sendable {
    public var name: String
    public var bus: String
    public var path: String
    /// The serial as the kernel gives it, decoded from hex (padding kept).
    public var rawSerial: String
    public var ataPort: Int?

    public init(name: String, bus: String, path: String, rawSerial: String, ataPort: Int? = nil) {
        self.name = name
        self.bus = bus
        self.path = path
        self.rawSerial = rawSerial
        self.ataPort = ataPort
    }

    /// The serial without the padding its bus adds: ATA IDENTIFY and NVMe pad with spaces
    /// to 20 bytes; vmserial never issues serials with spaces, so trailing ones are padding.
    public var serial: String {
        var s = Substring(rawSerial)
        while let last = s.last, last == " " || last == "\0" { s = s.dropLast() }
        return String(s)
    }

    /// The device's place in the guest: PCI slots from the root bus, and the SCSI/ATA unit.
    public var location: GuestLocation { GuestLocation(sysfsPath: path, ataPort: ataPort) }
}

public enum ProbeReportError: Error, Equatable, Sendable, CustomStringConvertible {
    case noReport
    case truncated(linesSeen: Int)
    case lineCountMismatch(declared: Int, seen: Int)
    case unsupportedVersion(Int)
    case malformedLine(number: Int, line: String, reason: String)

    public var description: String {
        switch self {
        case .noReport:
            return "the guest printed no report (no VMSERIAL-REPORT-BEGIN line)"
        case let .truncated(n):
            return "the guest's report stops after \(n) lines without VMSERIAL-REPORT-END (guest crashed or timed out mid-report)"
        case let .lineCountMismatch(declared, seen):
            return "the report says it has \(declared) lines but \(seen) arrived (lost or garbled output)"
        case let .unsupportedVersion(v):
            return "report version \(v) is not supported (this vmserial reads versions \(ProbeReport.supportedVersions.lowerBound)-\(ProbeReport.supportedVersions.upperBound)); rebuild the probe with `make images`"
        case let .malformedLine(n, line, reason):
            return "report line \(n) is malformed (\(reason)): \(line)"
        }
    }
}

extension ProbeReport {
    public static let beginMarker = "VMSERIAL-REPORT-BEGIN"
    public static let endMarker = "VMSERIAL-REPORT-END"

    /// Every complete report in `text`, in order; a trailing incomplete one is an error
    /// (`.truncated`). Lines may end in LF or CR LF; blank lines are not part of a report.
    public static func parseAll(_ text: String) throws -> [ProbeReport] {
        var reports: [ProbeReport] = []
        var block: [String]?
        var lineNo = 0
        // "\r\n" is one Character in Swift: splitting on "\n" alone would not split CR LF text.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNo += 1
            var line = raw.trimmingCharacters(in: ["\r", " ", "\t", "\0"])
            if line.isEmpty { continue }
            // UEFI firmware writes terminal escapes to every serial port, so a marker can
            // arrive mid-line: take the line from the marker on.
            for marker in [beginMarker, endMarker] {
                if let r = line.range(of: marker), r.lowerBound != line.startIndex { line = String(line[r.lowerBound...]) }
            }
            if line.hasPrefix(beginMarker) {
                block = [line]
            } else if line.hasPrefix(endMarker), let b = block {
                reports.append(try parse(lines: b + [line], firstLine: lineNo - b.count))
                block = nil
            } else if block != nil {
                block!.append(line)
            }
        }
        if let b = block { throw ProbeReportError.truncated(linesSeen: b.count) }
        return reports
    }

    /// Counts complete reports cheaply (while polling a console file).
    public static func countComplete(_ text: String) -> Int {
        // Only end lines closed by their newline: a reader woken while the report is being
        // written may see "VMSERIAL-REPORT-END lin" and must wait for the rest.
        // By scalars: "\r\n" is one Character, and a firmware console ends lines with it.
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            .filter { Substring($0).contains(endMarker) }.count
    }

    /// Parses exactly one report (the first one in `text`).
    public static func parse(_ text: String) throws -> ProbeReport {
        guard text.contains(beginMarker) else { throw ProbeReportError.noReport }
        guard let first = try parseAll(text).first else { throw ProbeReportError.noReport }
        return first
    }

    static func parse(lines: [String], firstLine: Int) throws -> ProbeReport {
        let header = fields(lines[0])
        guard let v = header["version"].flatMap(Int.init) else {
            throw ProbeReportError.malformedLine(number: firstLine, line: lines[0], reason: "no version")
        }
        guard supportedVersions.contains(v) else { throw ProbeReportError.unsupportedVersion(v) }
        let body = Array(lines.dropFirst().dropLast())
        let end = fields(lines[lines.count - 1])
        guard let declared = end["lines"].flatMap(Int.init) else {
            throw ProbeReportError.malformedLine(number: firstLine + lines.count - 1, line: lines.last!, reason: "no line count")
        }
        guard declared == body.count else { throw ProbeReportError.lineCountMismatch(declared: declared, seen: body.count) }
        var report = ProbeReport(version: v, smbiosSerial: "", smbiosUUID: "", devices: [])
        var sawSMBIOS = false
        for (i, line) in body.enumerated() {
            let n = firstLine + 1 + i
            let f = fields(line)
            switch line.split(separator: " ").first {
            case "smbios":
                guard let s = f["serial"], let serial = decodeHex(s), let uuid = f["uuid"] else {
                    throw ProbeReportError.malformedLine(number: n, line: line, reason: "smbios needs serial=<hex> uuid=")
                }
                report.smbiosSerial = serial
                report.smbiosUUID = uuid.lowercased()
                sawSMBIOS = true
            case "disk":
                guard let name = f["name"], !name.isEmpty, let path = f["path"], let s = f["serial"], let serial = decodeHex(s) else {
                    throw ProbeReportError.malformedLine(number: n, line: line, reason: "disk needs name=, path=, serial=<hex>")
                }
                report.devices.append(GuestDevice(name: name, bus: f["bus"] ?? "unknown", path: path, rawSerial: serial,
                                                  ataPort: f["ataport"].flatMap { Int($0) }))
            case "byid" where v >= 2:
                guard let name = f["name"], !name.isEmpty, let target = f["target"], !target.isEmpty else {
                    throw ProbeReportError.malformedLine(number: n, line: line, reason: "byid needs name= and target=")
                }
                report.byID.append(ByIDLink(name: name, target: target))
            case "boot" where v >= 2:
                guard let boot = f["n"].flatMap({ Int($0) }) else {
                    throw ProbeReportError.malformedLine(number: n, line: line, reason: "boot needs n=<number>")
                }
                report.boot = boot
                report.initSystem = f["init"]
            default:
                throw ProbeReportError.malformedLine(number: n, line: line, reason: "unknown record")
            }
        }
        guard sawSMBIOS else {
            throw ProbeReportError.malformedLine(number: firstLine, line: lines[0], reason: "no smbios line")
        }
        return report
    }

    static func fields(_ line: String) -> [String: String] {
        var out: [String: String] = [:]
        for part in line.split(separator: " ") {
            guard let eq = part.firstIndex(of: "=") else { continue }
            out[String(part[..<eq])] = String(part[part.index(after: eq)...])
        }
        return out
    }

    /// Lower- or upper-case hex → string (bytes kept as Latin-1 when not UTF-8, so nothing is lost).
    static func decodeHex(_ s: String) -> String? {
        guard s.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var it = s.makeIterator()
        while let a = it.next(), let b = it.next() {
            guard let hi = a.hexDigitValue, let lo = b.hexDigitValue else { return nil }
            bytes.append(UInt8(hi << 4 | lo))
        }
        if let utf8 = String(validating: bytes, as: UTF8.self) { return utf8 }
        return String(bytes.map { Character(UnicodeScalar($0)) })
    }
}
