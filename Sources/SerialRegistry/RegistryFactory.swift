import Foundation

/// Picks a backend from a registry location: `postgres://…` (or `postgresql://…`) is PostgreSQL;
/// `sqlite:PATH`, `:memory:` or a plain path is SQLite.
public enum RegistryFactory {
    public enum Kind: String, Sendable { case sqlite, postgres }

    public static func kind(of location: String) -> Kind {
        PostgresLocation.isURL(location) ? .postgres : .sqlite
    }

    /// The SQLite path of a location (`sqlite:` removed).
    public static func sqlitePath(_ location: String) -> String {
        location.hasPrefix("sqlite:") ? String(location.dropFirst("sqlite:".count)) : location
    }

    /// The location as shown to a person: a PostgreSQL URL loses its password.
    public static func display(_ location: String) -> String {
        guard kind(of: location) == .postgres else { return sqlitePath(location) }
        return (try? PostgresLocation(url: location).display) ?? "a PostgreSQL URL that does not parse"
    }

    /// Opens the registry at `location`, creating (or upgrading) its schema.
    public static func open(_ location: String) throws -> any Registry {
        switch kind(of: location) {
        case .postgres: return try PostgresRegistry(url: location)
        case .sqlite: return try SQLiteRegistry(path: sqlitePath(location))
        }
    }

    /// Opens the registry only if it exists: nil for a missing SQLite file or a PostgreSQL
    /// database without vmserial's tables (read-only commands must not create one).
    public static func openExisting(_ location: String) throws -> (any Registry)? {
        switch kind(of: location) {
        case .postgres:
            return try PostgresRegistry(location: PostgresLocation(url: location), create: false)
        case .sqlite:
            let path = sqlitePath(location)
            guard path == ":memory:" || FileManager.default.fileExists(atPath: path) else { return nil }
            return try SQLiteRegistry(path: path)
        }
    }
}
