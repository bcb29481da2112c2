import Foundation
import Logging
import PostgresNIO
import SerialPolicy

/// Where a PostgreSQL registry lives:
/// `postgres://user[:password]@host[:port]/database[?schema=NAME][&sslmode=MODE][&sslrootcert=FILE]`.
/// Without a password in the URL, `PGPASSWORD` is used if set.
public struct PostgresLocation: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// The schema holding vmserial's tables (default `public`): several registries can share one database.
    public var schema: String?
    /// TLS as libpq's `sslmode` means it (default `prefer`, as libpq).
    public var sslMode: SSLMode = .prefer
    /// PEM file of the certificate authorities a `verify-full` server certificate must chain to
    /// (libpq's `sslrootcert`); without it, the system's trusted roots.
    public var sslRootCert: String?

    /// libpq's `sslmode` values vmserial supports.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// No TLS.
        case disable
        /// TLS when the server offers it, else plain; the certificate is not checked (libpq's default).
        case prefer
        /// TLS or no connection; the certificate is not checked.
        case require
        /// TLS, a certificate that chains to a trusted root (`sslrootcert`) and names the host.
        case verifyFull = "verify-full"
    }

    public static func isURL(_ s: String) -> Bool { s.hasPrefix("postgres://") || s.hasPrefix("postgresql://") }

    public init(url: String) throws {
        guard Self.isURL(url), let c = URLComponents(string: url), let host = c.host, !host.isEmpty else {
            throw RegistryError.badLocation("\(Self.redacted(url)) is not a PostgreSQL URL; write postgres://USER[:PASSWORD]@HOST:PORT/DATABASE, with @, : and / in a user name or password percent-encoded (%40, %3A, %2F), or leave the password out and set PGPASSWORD")
        }
        self.host = host
        port = c.port ?? 5432
        user = c.user.flatMap { $0.isEmpty ? nil : $0 } ?? ProcessInfo.processInfo.environment["PGUSER"] ?? "postgres"
        password = c.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
        let db = String(c.path.drop(while: { $0 == "/" }))
        database = db.isEmpty ? user : db
        schema = c.queryItems?.first { $0.name == "schema" }?.value.flatMap { $0.isEmpty ? nil : $0 }
        if let schema, !schema.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
            throw RegistryError.badLocation("schema \(schema) in \(display): use letters, digits and _ only")
        }
        if let mode = c.queryItems?.first(where: { $0.name == "sslmode" })?.value {
            guard let m = SSLMode(rawValue: mode) else {
                throw RegistryError.badLocation("sslmode=\(mode) in \(display) is not supported; use \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            sslMode = m
        }
        if let root = c.queryItems?.first(where: { $0.name == "sslrootcert" })?.value, !root.isEmpty {
            guard FileManager.default.isReadableFile(atPath: root) else {
                throw RegistryError.badLocation("sslrootcert=\(root) in \(display) is not a readable file; give the PEM file of the CA that signed the server's certificate")
            }
            sslRootCert = root
        }
        let known: Set<String> = ["schema", "sslmode", "sslrootcert"]
        if let unknown = c.queryItems?.first(where: { !known.contains($0.name) }) {
            throw RegistryError.badLocation("\(unknown.name)= in \(display) is not a setting vmserial knows; it reads schema, sslmode and sslrootcert")
        }
    }

    /// A URL that may not parse, for messages: everything between `://` and the last `@` (the
    /// user and password, whatever characters the password holds) is left out.
    public static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url.range(of: "@", options: .backwards), at.lowerBound >= scheme.upperBound else {
            return url
        }
        return String(url[..<scheme.upperBound]) + "…@" + String(url[at.upperBound...])
    }

    /// The URL without its password, for messages.
    public var display: String {
        var query: [String] = schema.map { ["schema=\($0)"] } ?? []
        if sslMode != .prefer { query.append("sslmode=\(sslMode.rawValue)") }
        return "postgres://\(user)@\(host):\(port)/\(database)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    /// PostgresNIO's TLS setting for `sslMode`.
    func tls() throws -> PostgresConnection.Configuration.TLS {
        var config = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable:
            return .disable
        case .prefer, .require:
            // libpq's prefer and require encrypt without checking who answers.
            config.certificateVerification = .none
        case .verifyFull:
            config.certificateVerification = .fullVerification
            if let sslRootCert { config.trustRoots = .file(sslRootCert) }
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: config)
        } catch {
            throw RegistryError.badLocation("cannot set up TLS for \(display): \(error); check sslrootcert (a PEM file of CA certificates)")
        }
        return sslMode == .prefer ? .prefer(context) : .require(context)
    }
}

/// The registry in a PostgreSQL database, shared by every host of a fleet. Uniqueness lives in
/// the database's constraints (serial UNIQUE, volume id PRIMARY KEY, instance uuid UNIQUE);
/// allocations take a transaction-scoped advisory lock, so two hosts allocating at once are
/// serialized the way SQLite's IMMEDIATE transactions serialize two processes.
public final class PostgresRegistry: Registry, @unchecked Sendable {
    /// The location as shown to a person (no password).
    public let path: String
    public let location: PostgresLocation
    let connection: PostgresConnection
    let logger = Logger(label: "vmserial.registry.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    /// One statement at a time on the connection, and one transaction at a time per handle.
    let lock = NSRecursiveLock()
    /// Draws the serials; tests put in one that collides.
    package var generator = SerialGenerator()
    var allocation: Allocation { Allocation(generator: generator) }

    /// Schema history: each entry takes the schema from version i to i+1. Add; never edit a released one.
    static let migrations: [String] = [
        """
        CREATE TABLE instance (
            name TEXT PRIMARY KEY NOT NULL,
            uuid TEXT NOT NULL CONSTRAINT instance_uuid_unique UNIQUE,
            smbios_mode TEXT NOT NULL,
            smbios_serial TEXT,
            spec TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE volume (
            id TEXT PRIMARY KEY NOT NULL,
            serial TEXT CONSTRAINT volume_serial_unique UNIQUE,
            generated BOOLEAN NOT NULL,
            source TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE attachment (
            instance TEXT NOT NULL REFERENCES instance(name) ON DELETE CASCADE,
            disk TEXT NOT NULL,
            position BIGINT NOT NULL,
            volume TEXT NOT NULL REFERENCES volume(id),
            bus TEXT NOT NULL,
            target TEXT NOT NULL,
            source TEXT NOT NULL,
            serial_applied BOOLEAN NOT NULL,
            PRIMARY KEY (instance, disk)
        );
        CREATE TABLE move (
            id BIGSERIAL PRIMARY KEY,
            volume TEXT NOT NULL REFERENCES volume(id),
            old_path TEXT NOT NULL,
            new_path TEXT NOT NULL,
            at TEXT NOT NULL
        );
        """,
    ]

    /// The schema version this vmserial writes.
    public static var schemaVersion: Int { migrations.count }

    /// Connects and creates or upgrades the schema.
    public convenience init(url: String) throws {
        try self.init(location: PostgresLocation(url: url), create: true)!
    }

    /// Connects; with `create` false returns nil when the database has no vmserial schema yet
    /// (read-only commands must not create one).
    public init?(location: PostgresLocation, create: Bool) throws {
        self.location = location
        path = location.display
        connection = try Self.connect(location, logger: logger)
        do {
            if let schema = location.schema {
                // CREATE SCHEMA IF NOT EXISTS is not safe against itself: two sessions creating one
                // schema at once, one fails on pg_namespace's unique index. Under the schema's
                // advisory lock the second waits and then finds it.
                if create { try transaction(retrying: false) { _ in try simple("CREATE SCHEMA IF NOT EXISTS \"\(schema)\"") } }
                try simple("SET search_path TO \"\(schema)\"")
            }
            guard try create || exists() else {
                close()
                return nil
            }
            try migrate()
        } catch {
            close()
            throw Self.surfaced(error, display: path)
        }
    }

    deinit { close() }

    static func connect(_ location: PostgresLocation, logger: Logger) throws -> PostgresConnection {
        var config = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.user,
                                                      password: location.password, database: location.database, tls: try location.tls())
        config.options.connectTimeout = .seconds(10)
        if location.sslMode == .verifyFull && Self.isIPAddress(location.host) {
            // The TLS library checks a certificate's name only against a host name (SNI); an IP
            // address would pass unchecked, which verify-full must not allow.
            throw RegistryError.badLocation("sslmode=verify-full needs a host name that the server's certificate names, not the IP address \(location.host); write the host name in the URL")
        }
        do {
            return try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: config,
                                                  id: 1, logger: logger).wait()
        } catch {
            throw surfaced(storageError(error, location: location), display: location.display)
        }
    }

    /// Runs SQL on the database of `location` outside any registry (tests: drop a schema, fake a newer one).
    static func administer(_ location: PostgresLocation, _ sql: String) throws {
        let logger = Logger(label: "vmserial.registry.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        let connection = try connect(location, logger: logger)
        defer { try? connection.close().wait() }
        do {
            try run(sql, on: connection, location: location, logger: logger)
        } catch {
            throw surfaced(error, display: location.display)
        }
    }

    func close() { try? connection.close().wait() }

    /// Whether this database (schema) holds a vmserial registry.
    func exists() throws -> Bool {
        try session.row("SELECT to_regclass('vmserial_schema') IS NOT NULL AS present")?.bool("present") == true
    }

    /// Creates the tables, or upgrades them, under the advisory lock so two first launches do not race.
    func migrate() throws {
        try transaction(retrying: false) { db in
            try db.execute("CREATE TABLE IF NOT EXISTS vmserial_schema (version INTEGER NOT NULL)", [])
            let current = Int(try db.row("SELECT coalesce(max(version), 0) AS v FROM vmserial_schema")?.string("v") ?? "0") ?? 0
            if current > Self.migrations.count {
                throw RegistryError.newerSchema(path: path)
            }
            for (i, sql) in Self.migrations.enumerated() where i >= current {
                try simple(sql)
            }
            if current < Self.migrations.count {
                try db.execute("DELETE FROM vmserial_schema", [])
                try db.execute("INSERT INTO vmserial_schema (version) VALUES (?)", [.integer(Self.migrations.count)])
            }
        }
    }

    var session: PostgresSession { PostgresSession(registry: self) }

    // MARK: Registry

    public func assign(_ request: AssignmentRequest, apply: (Assignment) throws -> Void) throws -> Assignment {
        try transaction { db in
            let a = try allocation.allocate(request, db: db, write: true)
            try apply(a)
            return a
        }
    }

    public func preview(_ request: AssignmentRequest) throws -> Assignment {
        try snapshot { db in try allocation.allocate(request, db: db, write: false) }
    }

    public func assignment(vm: String) throws -> Assignment? {
        try snapshot { db in try allocation.read(vm: vm, db: db) }
    }

    public func assignments() throws -> [Assignment] {
        try snapshot { db in try allocation.readAll(db: db) }
    }

    public func specJSON(vm: String) throws -> String? {
        try snapshot { db in try allocation.specJSON(vm: vm, db: db) }
    }

    public func recordMove(volume: VolumeIdentity, from oldPath: String, to newPath: String, apply: () throws -> Void) throws {
        try transaction { db in
            try allocation.recordMove(volume: volume, from: oldPath, to: newPath, db: db)
            try apply()
        }
    }

    public func moves(volume: VolumeIdentity) throws -> [VolumeMove] {
        try snapshot { db in try allocation.moves(volume: volume, db: db) }
    }

    public func export() throws -> RegistryDump {
        try snapshot { db in try allocation.dump(db: db) }
    }

    public func importDump(_ dump: RegistryDump) throws -> ImportSummary {
        try transaction { db in try allocation.load(dump, db: db) }
    }

    public func check() throws -> [String] {
        try snapshot { db in try allocation.check(db: db) }
    }

    // MARK: transactions

    /// A write transaction holding the registry's advisory lock. A serialization failure or a
    /// deadlock the server reports runs the whole transaction again (apply included), a few times.
    func transaction<T>(retrying: Bool = true, _ body: (PostgresSession) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        let attempts = retrying ? 5 : 1
        for attempt in 1...attempts {
            var committing = false
            do {
                try simple("BEGIN")
                // Keyed by schema: registries in other schemas of the database do not wait for this one.
                try session.execute("SELECT pg_advisory_xact_lock(hashtext(?))", [.text("vmserial:" + (location.schema ?? "public"))])
                let result = try body(session)
                committing = true
                try simple("COMMIT")
                return result
            } catch {
                if !connection.isClosed { try? simple("ROLLBACK") }
                if attempt < attempts, let state = Self.sqlState(error), ["40001", "40P01"].contains(state) { continue }
                if let lost = error as? ConnectionLost {
                    // The server may have written the commit record and died before saying so.
                    if committing {
                        throw RegistryError.commitUnknown("the PostgreSQL server of \(path) went away while committing (\(lost.reason)); it may or may not have recorded the transaction. Run the command again once the server is back: it keeps whatever was recorded")
                    }
                    throw RegistryError.storage("the PostgreSQL server of \(path) went away during the transaction (\(lost.reason)); nothing was recorded. Run the command again once the server is back")
                }
                throw Self.surfaced(error, display: path)
            }
        }
        throw RegistryError.storage("\(path): the transaction kept conflicting with others; try again")
    }

    /// A read-only transaction: every read of one call sees one snapshot.
    func snapshot<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        do {
            try simple("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            defer { if !connection.isClosed { try? simple("ROLLBACK") } }
            return try body(session)
        } catch {
            throw Self.surfaced(error, display: path)
        }
    }

    /// Runs SQL without parameters; several statements separated by `;` run one after another
    /// (the extended protocol takes one at a time; vmserial's own statements hold no `;` in literals).
    func simple(_ sql: String) throws {
        lock.lock()
        defer { lock.unlock() }
        try Self.run(sql, on: connection, location: location, logger: logger)
    }

    static func run(_ sql: String, on connection: PostgresConnection, location: PostgresLocation, logger: Logger) throws {
        for statement in sql.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !statement.isEmpty {
            do {
                _ = try waitOrLost(connection.query(PostgresQuery(unsafeSQL: statement), logger: logger), on: connection)
            } catch {
                throw storageError(error, location: location)
            }
        }
    }

    func query(_ sql: String, _ arguments: [SQLValue]) throws -> PostgresQueryResult {
        lock.lock()
        defer { lock.unlock() }
        var binds = PostgresBindings(capacity: arguments.count)
        for a in arguments {
            switch a {
            case let .text(s): binds.append(s)
            case let .integer(i): binds.append(i)
            case let .bool(b): binds.append(b)
            case .null: binds.appendNull()
            }
        }
        do {
            return try Self.waitOrLost(connection.query(PostgresQuery(unsafeSQL: Self.numberPlaceholders(sql), binds: binds), logger: logger),
                                       on: connection)
        } catch {
            throw Self.storageError(error, location: location)
        }
    }

    /// Waits for a query, or for the connection to close, whichever comes first. postgres-nio
    /// never completes a query written to a connection that is already closed (the server went
    /// away during the previous statement), so a plain `wait()` would hang forever.
    static func waitOrLost<T: Sendable>(_ future: EventLoopFuture<T>, on connection: PostgresConnection) throws -> T {
        let promise = future.eventLoop.makePromise(of: T.self)
        future.cascade(to: promise)
        // A promise completed twice keeps its first result: a query that finished wins.
        connection.closeFuture.hop(to: future.eventLoop).whenComplete { _ in
            promise.fail(ConnectionLost(reason: "the connection closed"))
        }
        return try promise.futureResult.wait()
    }

    /// `?` → `$1`, `$2`, … (the shared statements have no `?` inside literals).
    static func numberPlaceholders(_ sql: String) -> String {
        var out = "", n = 0
        for ch in sql {
            if ch == "?" { n += 1; out += "$\(n)" } else { out.append(ch) }
        }
        return out
    }

    // MARK: errors

    /// The SQLSTATE of a server error, wherever it is wrapped.
    static func sqlState(_ error: any Error) -> String? {
        switch error {
        case let e as PSQLError: return e.serverInfo?[.sqlState]
        case let e as PostgresStorageError: return e.sqlState
        default: return nil
        }
    }

    /// What callers see: registry errors and the caller's own pass through, server errors become
    /// `.storage`, a server gone names the registry (`display`: its URL without the password).
    /// A TLS handshake or certificate failure (NIOSSL / BoringSSL), not a network one.
    static func isTLSFailure(_ error: (any Error)?) -> Bool {
        guard let error else { return false }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError { return true }
        return String(reflecting: type(of: error)).contains("SSL")
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), &v6) == 1
    }

    static func surfaced(_ error: any Error, display: String) -> any Error {
        if let e = error as? PostgresStorageError { return RegistryError.storage("\(e.message) (SQLSTATE \(e.sqlState))") }
        if let lost = error as? ConnectionLost {
            return RegistryError.storage("the PostgreSQL server of \(display) went away (\(lost.reason)); run the command again once the server is back")
        }
        return error
    }

    /// SQLSTATE class 08 (connection exception) and 57P01-57P03 (admin shutdown, crash shutdown,
    /// cannot connect now): the server is going or gone, not refusing this statement.
    static func meansServerGone(_ state: String?) -> Bool {
        guard let state else { return false }
        return state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state)
    }

    /// Server errors keep their SQLSTATE (the transaction logic needs it); connection problems
    /// become `.storage` naming the server and what to do.
    static func storageError(_ error: any Error, location: PostgresLocation) -> any Error {
        if error is RegistryError || error is PostgresStorageError || error is ConnectionLost { return error }
        guard let e = error as? PSQLError else {
            return RegistryError.storage("PostgreSQL at \(location.host):\(location.port): \(error)")
        }
        let server = "\(location.host):\(location.port)"
        switch e.code {
        case .sslUnsupported:
            return RegistryError.storage("the PostgreSQL server at \(server) does not offer TLS, and sslmode=\(location.sslMode.rawValue) requires it; turn ssl on in the server's postgresql.conf, or use sslmode=prefer (or disable) in the URL")
        case .connectionError where Self.isTLSFailure(e.underlying):
            let detail = e.underlying.map { "\($0)" } ?? ""
            return RegistryError.storage("TLS with the PostgreSQL server at \(server) failed (\(detail)); with sslmode=verify-full its certificate must chain to sslrootcert (\(location.sslRootCert ?? "the system's trusted roots")) and name the host \(location.host)")
        case .server where Self.meansServerGone(e.serverInfo?[.sqlState]):
            return ConnectionLost(reason: e.serverInfo?[.message] ?? "server shut down")
        case .server:
            return PostgresStorageError(sqlState: e.serverInfo?[.sqlState] ?? "", constraint: e.serverInfo?[.constraintName],
                                        message: "\(location.display): \(e.serverInfo?[.message] ?? "server error")")
        case .connectionError:
            let detail = e.underlying.map { "\($0)" } ?? "no answer"
            let reason = detail.contains("Connection refused") ? "connection refused"
                : detail.contains("timed out") || detail.contains("Timeout") ? "no answer in 10 s" : detail
            return RegistryError.storage("cannot reach PostgreSQL at \(server) (\(reason)); start the server (for the test cluster: scripts/test-postgres.sh start) or point --registry / VMSERIAL_REGISTRY at one that runs")
        case .serverClosedConnection, .uncleanShutdown:
            return ConnectionLost(reason: "the server closed the connection")
        default:
            return RegistryError.storage("PostgreSQL at \(server): \(String(reflecting: e))")
        }
    }
}

/// The server went away under a statement (stopped, restarted, crashed). `transaction` says
/// whether that was before the commit (nothing recorded) or during it (unknown).
struct ConnectionLost: Error, CustomStringConvertible {
    var reason: String
    var description: String { "the PostgreSQL server went away (\(reason))" }
}

/// A server-side error (constraint, permission, syntax) with its SQLSTATE.
struct PostgresStorageError: Error, CustomStringConvertible {
    var sqlState: String
    var constraint: String?
    var message: String
    var description: String { "registry: \(message) (SQLSTATE \(sqlState))" }
}

/// The shared allocation logic's view of the registry's connection, inside its transaction.
struct PostgresSession: SQLSession {
    let registry: PostgresRegistry

    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        try registry.query(sql, arguments).map { row in
            var values: [String: SQLValue] = [:]
            for cell in row {
                guard cell.bytes != nil else { values[cell.columnName] = .null; continue }
                switch cell.dataType {
                case .bool: values[cell.columnName] = .bool(try cell.decode(Bool.self))
                case .int2, .int4, .int8: values[cell.columnName] = .integer(try cell.decode(Int.self))
                default: values[cell.columnName] = .text(try cell.decode(String.self))
                }
            }
            return SQLRow(values: values)
        }
    }

    func execute(_ sql: String, _ arguments: [SQLValue]) throws {
        _ = try registry.query(sql, arguments)
    }

    /// A failed statement aborts a PostgreSQL transaction: a savepoint keeps it usable.
    func executeUnlessSerialTaken(_ sql: String, _ arguments: [SQLValue]) throws -> Bool {
        try registry.simple("SAVEPOINT draw")
        do {
            try execute(sql, arguments)
            try registry.simple("RELEASE SAVEPOINT draw")
            return true
        } catch let e as PostgresStorageError where e.sqlState == "23505" && e.constraint == "volume_serial_unique" {
            try registry.simple("ROLLBACK TO SAVEPOINT draw")
            return false
        }
    }
}
