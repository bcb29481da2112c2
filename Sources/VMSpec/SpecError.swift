import SerialPolicy

/// One thing wrong with a spec: where (a JSON path such as `disks[1].serial`), what, and the fix.
public struct SpecProblem: Equatable, Sendable, CustomStringConvertible {
    public let field: String
    public let message: String
    public let fix: String

    public init(_ field: String, _ message: String, fix: String) {
        self.field = field
        self.message = message
        self.fix = fix
    }

    public var description: String { "\(field): \(message). Fix: \(fix)" }

    /// "spec vm.json has 2 problems:" and one indented line each.
    public static func list(_ problems: [SpecProblem], in what: String) -> String {
        let n = problems.count
        return "\(what) has \(n) problem\(n == 1 ? "" : "s"):\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// Errors from reading and checking a spec. All are "bad input" (exit code 2).
public enum SpecError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case invalid(path: String, problems: [SpecProblem])

    public var problems: [SpecProblem] {
        if case let .invalid(_, p) = self { return p }
        return []
    }

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read spec \(path): \(reason)"
        case let .malformed(path, reason):
            return "spec \(path) is not valid: \(reason)"
        case let .invalid(path, problems):
            return SpecProblem.list(problems, in: "spec \(path)")
        }
    }
}
