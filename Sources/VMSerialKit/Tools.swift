import Foundation

/// Runs a host tool (qemu-img) and returns its standard output; a non-zero exit throws
/// with its standard error.
enum Tool {
    static func run(_ tool: String, _ args: [String]) throws -> String {
        let p = Process()
        guard let path = which(tool) else {
            throw VMSerialError.failed("\(tool) is not installed; run `make deps` (Debian package qemu-utils)")
        }
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let exited = p.exitSignal()
        try p.run()
        // Both pipes at once: a tool that fills its stderr pipe must not wait on us.
        nonisolated(unsafe) var e = Data()
        let reader = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            e = err.fileHandleForReading.readDataToEndOfFile()
            reader.signal()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        reader.wait()
        exited.wait()
        guard p.terminationStatus == 0 else {
            throw VMSerialError.failed("\(tool) \(args.joined(separator: " ")) failed: \(String(decoding: e, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return String(decoding: o, as: UTF8.self)
    }

    static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") + ["/usr/bin", "/usr/local/bin"] {
            let p = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }
}

extension Process {
    /// A semaphore signalled when the process exits; call before `run()`. Waiting on it returns
    /// as soon as the child is reaped, where swift-corelibs-foundation's `waitUntilExit()` polls
    /// its run loop every 50 ms (up to 50 ms lost per tool, which a 1 GiB migration notices).
    func exitSignal() -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        terminationHandler = { _ in done.signal() }
        return done
    }
}
