import Testing
@testable import VMSerialKit

@Suite struct ReporterStateTests {
    @Test("the reporter's state folder is its own, not vmserial's host state folder")
    func ownFolder() {
        #expect(GuestReporter.stateDirectory != "/var/lib/vmserial")
        #expect(!GuestReporter.stateDirectory.hasPrefix("/var/lib/vmserial/"))
        #expect(GuestReporter.planPath.hasPrefix(GuestReporter.stateDirectory + "/"))
        #expect(GuestReporter.script.contains("STATE=${VMSERIAL_STATE:-\(GuestReporter.stateDirectory)}"))
    }

    @Test("removal takes only the reporter's files")
    func ownFiles() {
        for own in ["plan", "report.1", "report.12", ".body.345", ".report.345"] { #expect(GuestReporter.isOwnFile(own), "\(own)") }
        for other in ["registry.sqlite", "registry.sqlite-wal", "run", "report.", "report.x", ".body.", "plan.bak", "notes.txt"] {
            #expect(!GuestReporter.isOwnFile(other), "\(other)")
        }
    }
}
