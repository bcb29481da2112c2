import SerialPolicy

/// A value bound to or read from a registry statement. Both backends store the same few kinds.
enum SQLValue: Sendable, Equatable {
    case text(String)
    case integer(Int)
    case bool(Bool)
    case null

    init(_ s: String?) { self = s.map(SQLValue.text) ?? .null }
}

/// One result row, by column name.
struct SQLRow: Sendable {
    var values: [String: SQLValue]

    func string(_ column: String) -> String? {
        switch values[column] {
        case let .text(s)?: return s
        case let .integer(i)?: return String(i)
        default: return nil
        }
    }

    /// SQLite keeps booleans as 0/1, PostgreSQL as boolean: both read the same.
    func bool(_ column: String) -> Bool {
        switch values[column] {
        case let .bool(b)?: return b
        case let .integer(i)?: return i != 0
        default: return false
        }
    }
}

/// What the shared allocation logic needs from a backend inside one transaction.
/// Statements use `?` placeholders; a backend rewrites them if its engine wants others.
protocol SQLSession {
    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]
    func execute(_ sql: String, _ arguments: [SQLValue]) throws
    /// Runs an INSERT or UPDATE that may hit the UNIQUE constraint on `volume.serial`:
    /// false when it did (and the transaction is still usable), true when it was written.
    func executeUnlessSerialTaken(_ sql: String, _ arguments: [SQLValue]) throws -> Bool
}

extension SQLSession {
    func row(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLRow? { try rows(sql, arguments).first }
}
