import Testing
@testable import VMSerialKit

@Suite struct CleanupStateTests {
    @Test("clean-up state read from another thread while the command writes it")
    func concurrentAccess() async {
        let state = CleanupState()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for i in 0..<20_000 { state.mayHaveInstalled = i % 2 == 0; state.osFoundBy = "\(i)" } }
            group.addTask { for _ in 0..<20_000 { _ = state.mayHaveInstalled; _ = state.osFoundBy; _ = state.removed } }
        }
        state.removed = true
        #expect(state.removed)
    }

    @Test func interruptedIsReadUnderTheLock() {
        #expect(Interrupts.shared.interrupted == false)
    }
}
