import SerialRegistry
import Testing
@testable import VMSerialKit

@Suite struct ImportExitStatusTests {
    @Test("an import that breaks the rules a launch enforces is bad input: exit 2")
    func importInvalidExits2() {
        #expect(ExitStatus.of(RegistryError.importInvalid(["instances[0]: …"])) == 2)
    }
}
