import Foundation

/// How much vmserial says on standard error besides results and errors: the global options
/// `--quiet` (no progress lines; warnings and errors still) and `--verbose` (also which libvirt
/// connection and registry a command uses). Standard output is never affected.
enum Verbosity: Sendable {
    case quiet, normal, verbose

    /// Set once by `main` from the command line, before any thread starts; read-only afterwards.
    nonisolated(unsafe) static var current = Verbosity.normal

    /// The global options taken out of `arguments` (anywhere before a `--`), and what is left
    /// for ArgumentParser. The last of `--quiet` and `--verbose` wins.
    static func take(from arguments: [String]) -> (Verbosity, [String]) {
        var verbosity = Verbosity.normal
        var rest: [String] = []
        var optionsEnded = false
        for argument in arguments {
            switch argument {
            case "--": optionsEnded = true; rest.append(argument)
            case "--quiet" where !optionsEnded: verbosity = .quiet
            case "--verbose" where !optionsEnded: verbosity = .verbose
            default: rest.append(argument)
            }
        }
        return (verbosity, rest)
    }
}

/// Prints progress on standard error (standard output is kept for results and JSON); nothing
/// under `--quiet` but warnings, which name something the user has to act on.
func progress(_ line: String) {
    guard Verbosity.current != .quiet || line.hasPrefix("warning:") else { return }
    FileHandle.standardError.write(Data("vmserial: \(line)\n".utf8))
}

/// A line only `--verbose` prints.
func detail(_ line: String) {
    guard Verbosity.current == .verbose else { return }
    FileHandle.standardError.write(Data("vmserial: \(line)\n".utf8))
}
