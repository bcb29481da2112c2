import Foundation
import Testing
@testable import VMSerialKit

@Suite struct SignalTests {
    @Test("a signal's exit status is 128 + its number: SIGINT 130, SIGTERM 143")
    func signalStatus() {
        #expect(Interrupts.status(for: SIGINT) == 130)
        #expect(Interrupts.status(for: SIGTERM) == 143)
    }
}
