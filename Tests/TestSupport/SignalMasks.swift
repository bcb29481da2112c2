import Foundation

/// The signals a process ignores and blocks, as the kernel reports them in /proc/PID/status
/// (`SigIgn:` and `SigBlk:`, hexadecimal, bit N-1 for signal N): how a test sees what a child
/// of vmserial inherited.
public struct SignalMasks: Equatable, Sendable {
    public let ignored: UInt64
    public let blocked: UInt64

    /// Reads the two masks from the text of /proc/PID/status (or just those two lines of it).
    public init?(procStatus: String) {
        var masks: [String: UInt64] = [:]
        for line in procStatus.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { masks[parts[0]] = UInt64(parts[1], radix: 16) }
        }
        guard let ignored = masks["SigIgn"], let blocked = masks["SigBlk"] else { return nil }
        self.ignored = ignored
        self.blocked = blocked
    }

    public func ignores(_ signal: Int32) -> Bool { ignored & Self.bit(signal) != 0 }
    public func blocks(_ signal: Int32) -> Bool { blocked & Self.bit(signal) != 0 }

    static func bit(_ signal: Int32) -> UInt64 { UInt64(1) << UInt64(signal - 1) }
}
