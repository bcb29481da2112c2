import Foundation
import SerialPolicy
import Testing
@testable import SerialRegistry

@Suite("PostgreSQL locations: bad input, and no password in a message")
struct PostgresLocationTests {
    /// @, : and / unencoded in the password: the URL does not parse, and the message must not echo it.
    static let leaky = "postgres://vm:p@ss:w/rd@db.example:5433/fleet"

    @Test("a PostgreSQL URL that does not parse is bad input and its password is not in the message")
    func unparsableURLHidesPassword() throws {
        let e = #expect(throws: RegistryError.self) { try PostgresLocation(url: Self.leaky) }
        guard case let .badLocation(message)? = e else {
            Issue.record("expected .badLocation (exit 2), got \(String(describing: e))")
            return
        }
        for secret in ["p@ss", "ss:w", "w/rd", "p@ss:w/rd"] {
            #expect(!message.contains(secret), "\(message)")
        }
        #expect(message.contains("db.example:5433/fleet"), "the message still says which server: \(message)")
        #expect(message.contains("%40"), "and how to write such a password: \(message)")
        #expect(!RegistryFactory.display(Self.leaky).contains("w/rd"))
    }

    @Test("a percent-encoded password with @, : and / is read, and never displayed")
    func encodedPassword() throws {
        let l = try PostgresLocation(url: "postgres://vm:p%40ss%3Aw%2Frd@db.example:5433/fleet")
        #expect(l.password == "p@ss:w/rd")
        #expect(l.host == "db.example")
        #expect(!l.display.contains("ss"), "\(l.display)")
    }

    @Test("a bad schema name is bad input")
    func badSchemaIsBadLocation() {
        let e = #expect(throws: RegistryError.self) { try PostgresLocation(url: "postgres://vm:secret@db/x?schema=a;drop") }
        guard case let .badLocation(message)? = e else {
            Issue.record("expected .badLocation, got \(String(describing: e))")
            return
        }
        #expect(!message.contains("secret"))
    }

    @Test(arguments: ["postgres://", "postgres://vm:pw@/db", "postgres://vm:pw@host:notaport/db"])
    func otherMalformedURLs(url: String) {
        let e = #expect(throws: RegistryError.self) { try PostgresLocation(url: url) }
        guard case let .badLocation(message)? = e else {
            Issue.record("expected .badLocation, got \(String(describing: e))")
            return
        }
        #expect(!message.contains("pw"), "\(message)")
    }
}
