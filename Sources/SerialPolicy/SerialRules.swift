/// Why a serial cannot be used as given. Each case carries what a message needs.
public enum SerialProblem: Equatable, Sendable, CustomStringConvertible {
    case empty
    case tooLong(length: Int, limit: Int, bus: Bus)
    case badCharacters([Character])

    public var description: String {
        switch self {
        case .empty:
            return "the serial is empty"
        case let .tooLong(length, limit, bus):
            return "the serial is \(length) characters but the \(bus.rawValue) bus keeps at most \(limit) (QEMU would cut it silently)"
        case let .badCharacters(chars):
            let shown = chars.map { $0 == " " ? "' ' (space)" : "'\($0)'" }.joined(separator: ", ")
            return "the serial has characters outside [A-Za-z0-9_.+-]: \(shown)"
        }
    }
}

/// The rules every serial, given or generated, must follow.
public enum SerialRules {
    /// KubeVirt's admission check: `[A-Za-z0-9_.+-]`. libvirt's schema also allows a space,
    /// but ATA pads with spaces, so a space in a serial is ambiguous inside the guest.
    public static func isAllowed(_ c: Character) -> Bool {
        guard c.isASCII, let v = c.asciiValue else { return false }
        switch v {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return c == "_" || c == "." || c == "+" || c == "-"
        }
    }

    /// All problems with `serial` on `bus`; empty when it can be used.
    public static func problems(serial: String, bus: Bus) -> [SerialProblem] {
        if serial.isEmpty { return [.empty] }
        var found: [SerialProblem] = []
        var bad: [Character] = []
        for c in serial where !isAllowed(c) && !bad.contains(c) { bad.append(c) }
        if !bad.isEmpty { found.append(.badCharacters(bad)) }
        // Only allowed characters are ASCII, so when there are none bad, bytes == characters.
        let length = serial.utf8.count
        if length > bus.serialLimit { found.append(.tooLong(length: length, limit: bus.serialLimit, bus: bus)) }
        return found
    }
}
