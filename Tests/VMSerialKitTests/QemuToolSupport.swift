import Foundation
import ProcessRunner
import Testing

/// What the suites that judge with outside tools (qemu-img, qemu-io, virt-xml-validate) share: a private scratch folder and
/// running qemu-img / qemu-io with their failure recorded.
enum QemuToolSupport {
    /// A new folder of this user's only (mkdtemp: mode 0700, a name nobody can take first).
    static func scratchFolder(_ label: String) throws -> String {
        var template = Array((NSTemporaryDirectory() + "vmserial-\(label)-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        return String(cString: made)
    }

    /// Runs `name args`, records a failure unless it exits 0, and returns its standard output.
    @discardableResult
    static func run(_ name: String, _ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let r = try Command(name, args).run()
        let out = String(decoding: r.standardOutput, as: UTF8.self)
        let err = String(decoding: r.standardError, as: UTF8.self)
        #expect(r.status == 0 && !r.signalled, "\(name) \(args.joined(separator: " ")): \(out)\(err)", sourceLocation: sourceLocation)
        return out
    }
}
