import Foundation
import SerialPolicy
import Testing
@testable import SerialRegistry

@Suite("Choosing, opening and versioning a backend")
struct BackendTests {
    @Test(arguments: [
        ("postgres://vm@db.example:5433/fleet", RegistryFactory.Kind.postgres),
        ("postgresql://vm@db.example/fleet", .postgres),
        ("/var/lib/vmserial/registry.sqlite", .sqlite),
        ("sqlite:/var/lib/vmserial/registry.sqlite", .sqlite),
        ("registry.sqlite", .sqlite),
        (":memory:", .sqlite),
    ])
    func locationPicksTheBackend(location: String, kind: RegistryFactory.Kind) {
        #expect(RegistryFactory.kind(of: location) == kind)
    }

    @Test func sqlitePrefixIsDropped() {
        #expect(RegistryFactory.sqlitePath("sqlite:/x/r.sqlite") == "/x/r.sqlite")
        #expect(RegistryFactory.sqlitePath("/x/r.sqlite") == "/x/r.sqlite")
    }

    @Test func postgresURLParts() throws {
        let l = try PostgresLocation(url: "postgres://vm:secret@10.0.0.5:5433/fleet?schema=lab")
        #expect(l.host == "10.0.0.5")
        #expect(l.port == 5433)
        #expect(l.user == "vm")
        #expect(l.password == "secret")
        #expect(l.database == "fleet")
        #expect(l.schema == "lab")
        #expect(l.display == "postgres://vm@10.0.0.5:5433/fleet?schema=lab")
        #expect(!l.display.contains("secret"), "a password never reaches a message")
        let d = try PostgresLocation(url: "postgres://vm@db")
        #expect(d.port == 5432)
        #expect(d.database == "vm")
        #expect(d.schema == nil)
    }

    @Test func badSchemaNameIsRefused() {
        #expect(throws: RegistryError.self) { try PostgresLocation(url: "postgres://vm@db/x?schema=a;drop") }
    }

    @Test func placeholdersAreNumbered() {
        #expect(PostgresRegistry.numberPlaceholders("SELECT a FROM t WHERE b = ? AND c = ?") == "SELECT a FROM t WHERE b = $1 AND c = $2")
    }

    @Test func unreachableServerNamesItAndTheFix() throws {
        // Port 1 on loopback: nothing listens there.
        let e = #expect(throws: RegistryError.self) { try RegistryFactory.open("postgres://vm@127.0.0.1:1/fleet") }
        guard case let .storage(message)? = e else {
            Issue.record("expected .storage, got \(String(describing: e))")
            return
        }
        #expect(message.contains("127.0.0.1:1"))
        #expect(message.contains("start the server"))
    }

    @Test(arguments: Backend.persistent)
    func openExistingCreatesNothing(backend: Backend) throws {
        let (location, cleanUp) = try backend.freshLocation()
        defer { cleanUp() }
        #expect(try RegistryFactory.openExisting(location) == nil)
        #expect(try RegistryFactory.openExisting(location) == nil, "the first look left nothing behind")
        _ = try RegistryFactory.open(location).assign(example())
        #expect(try RegistryFactory.openExisting(location)?.assignment(vm: "vm1") != nil)
    }

    @Test(.enabled(if: Backend.postgresConfigured, "needs VMSERIAL_TEST_POSTGRES (make unit)"))
    func postgresNewerSchemaIsRefused() throws {
        let (location, cleanUp) = try Backend.postgres.freshLocation()
        defer { cleanUp() }
        let l = try PostgresLocation(url: location)
        let schema = try #require(l.schema)
        try PostgresRegistry.administer(l, """
            CREATE SCHEMA "\(schema)";
            CREATE TABLE "\(schema)".vmserial_schema (version INTEGER NOT NULL);
            INSERT INTO "\(schema)".vmserial_schema VALUES (\(PostgresRegistry.schemaVersion + 1));
            """)
        #expect(throws: RegistryError.newerSchema(path: l.display)) { try RegistryFactory.open(location) }
        #expect(RegistryError.newerSchema(path: l.display).description.contains("upgrade vmserial"))
    }

    @Test(.enabled(if: Backend.postgresConfigured, "needs VMSERIAL_TEST_POSTGRES (make unit)"))
    func postgresOlderSchemaIsUpgraded() throws {
        let (location, cleanUp) = try Backend.postgres.freshLocation()
        defer { cleanUp() }
        let l = try PostgresLocation(url: location)
        let schema = try #require(l.schema)
        // Version 0: the version table exists, nothing else (a first launch interrupted before its tables).
        try PostgresRegistry.administer(l, """
            CREATE SCHEMA "\(schema)";
            CREATE TABLE "\(schema)".vmserial_schema (version INTEGER NOT NULL);
            INSERT INTO "\(schema)".vmserial_schema VALUES (0);
            """)
        let reg = try #require(try RegistryFactory.open(location) as? PostgresRegistry)
        #expect(try reg.assign(example()).disks.count == 3)
        let version = try reg.snapshot { try $0.row("SELECT max(version) AS v FROM vmserial_schema")?.string("v") }
        #expect(version == String(PostgresRegistry.schemaVersion))
        // Opening again leaves one version row.
        _ = try RegistryFactory.open(location)
        #expect(try reg.snapshot { try $0.rows("SELECT version FROM vmserial_schema", []) }.count == 1)
    }

    @Test(arguments: Backend.persistent)
    func handlesOnThreadsNeverShareASerial(backend: Backend) throws {
        let (location, cleanUp) = try backend.freshLocation()
        defer { cleanUp() }
        _ = try RegistryFactory.open(location)   // schema first, so the workers only allocate
        let workers = 4, each = 10
        let errors = LockedList()
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            do {
                let reg = try RegistryFactory.open(location)
                for i in 0..<each {
                    _ = try reg.assign(request("vm-\(w)-\(i)", disks: ["a", "b", "c"].map { disk("vm-\(w)-\(i)", $0) }))
                }
            } catch {
                errors.append("\(error)")
            }
        }
        #expect(errors.items.isEmpty, "\(errors.items)")
        let all = try RegistryFactory.open(location).assignments()
        #expect(all.count == workers * each)
        let serials = all.flatMap { $0.disks.compactMap(\.serial) }
        #expect(serials.count == workers * each * 3)
        #expect(Set(serials).count == serials.count)
        #expect(Set(all.map(\.uuid)).count == all.count)
    }
}

final class LockedList: @unchecked Sendable {
    private var list: [String] = []
    private let lock = NSLock()
    func append(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
    var items: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
