import Foundation
import ProcessRunner

/// Runs a host tool (qemu-img) and returns its standard output; a non-zero exit throws
/// with its standard error.
enum Tool {
    static func run(_ tool: String, _ args: [String]) throws -> String {
        guard let path = Command.which(tool) else {
            throw VMSerialError.failed("\(tool) is not installed; run `make deps` (Debian package qemu-utils)")
        }
        let result: ProcessResult
        do {
            result = try Command(path, args).run()
        } catch {
            throw VMSerialError.failed("\(tool) \(args.joined(separator: " ")) failed: \(error)")
        }
        guard result.succeeded else {
            throw VMSerialError.failed("\(tool) \(args.joined(separator: " ")) failed: \(result.errorOutput.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return result.output
    }
}
