import SerialRegistry
import Testing
@testable import VMSerialKit

@Suite struct RegistryExitStatusTests {
    @Test("a malformed PostgreSQL URL or schema is bad input: exit 2")
    func badLocationExits2() {
        #expect(ExitStatus.of(RegistryError.badLocation("x")) == 2)
        #expect(throws: RegistryError.self) { try PostgresLocation(url: "postgres://vm:p@ss:w/rd@db/fleet") }
        do {
            _ = try RegistryFactory.open("postgres://vm:p@ss:w/rd@db/fleet")
            Issue.record("opened a URL that does not parse")
        } catch {
            #expect(ExitStatus.of(error) == 2)
            #expect(!"\(error)".contains("w/rd"), "\(error)")
        }
    }
}
