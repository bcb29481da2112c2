import SerialPolicy
/// One line of /etc/fstab or /etc/crypttab that names a block device.
public struct TableEntry: Sendable, Equatable, Codable {
    /// "/etc/fstab" or "/etc/crypttab".
    public var file: String
    /// 1-based line number in the file.
    public var line: Int
    /// The device as written: fstab's first field, crypttab's second (`/dev/disk/by-id/…`, `UUID=…`).
    public var device: String
    /// fstab: the mount point; crypttab: the mapped volume's name.
    public var target: String
    public var options: [String]

    public init(file: String, line: Int, device: String, target: String, options: [String]) {
        self.file = file
        self.line = line
        self.device = device
        self.target = target
        self.options = options
    }

    /// The by-id name udev builds from a serial, when the device is one.
    public var udevName: ByIDName? { ByIDName(parsing: device) }

    /// `nofail` (fstab and crypttab): the boot goes on without the device.
    public var noFail: Bool { options.contains("nofail") }
}

/// Parses fstab(5) and crypttab(5): whitespace-separated fields, `#` comments, and the octal
/// escapes (`\040` for a space) that both allow in a field.
public enum FilesystemTable {
    public static func fstab(_ text: String, file: String = "/etc/fstab") -> [TableEntry] {
        lines(text).compactMap { n, f in
            // spec file vfstype mntops freq passno; the last four may be missing (defaults).
            guard f.count >= 2 else { return nil }
            return TableEntry(file: file, line: n, device: f[0], target: f[1], options: f.count > 3 ? options(f[3]) : [])
        }
    }

    public static func crypttab(_ text: String, file: String = "/etc/crypttab") -> [TableEntry] {
        lines(text).compactMap { n, f in
            // name device [keyfile [options]]
            guard f.count >= 2 else { return nil }
            return TableEntry(file: file, line: n, device: f[1], target: f[0], options: f.count > 3 ? options(f[3]) : [])
        }
    }

    static func options(_ field: String) -> [String] {
        field.split(separator: ",").map(String.init)
    }

    /// The non-comment lines, numbered from 1, split into unescaped fields.
    static func lines(_ text: String) -> [(Int, [String])] {
        var out: [(Int, [String])] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { unescape(String($0)) }
            out.append((i + 1, fields))
        }
        return out
    }

    /// `\NNN` (three octal digits) is the byte NNN; anything else stays as written.
    static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        let b = Array(field.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 4 <= b.count,
               b[(i + 1)..<(i + 4)].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }),
               let v = UInt8(String(decoding: b[(i + 1)..<(i + 4)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
