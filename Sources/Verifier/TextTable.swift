/// Left-aligned columns for terminal output; the last column is not padded.
public struct TextTable: Sendable {
    public var rows: [[String]]

    public init(header: [String]) { rows = [header] }

    public mutating func add(_ row: [String]) { rows.append(row) }

    /// Each row on its own line, prefixed by `indent`, columns two spaces apart.
    public func rendered(indent: String = "") -> String {
        let count = rows.map(\.count).max() ?? 0
        var widths = Array(repeating: 0, count: count)
        for r in rows { for (i, v) in r.enumerated() { widths[i] = max(widths[i], v.count) } }
        return rows.map { r in
            indent + r.enumerated().map { i, v in
                i == r.count - 1 ? v : v.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
