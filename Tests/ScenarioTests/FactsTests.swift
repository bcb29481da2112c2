import DomainXML
import Foundation
import Testing
import Verifier
@testable import Scenario

@Suite struct FactsTests {
    let names = [(name: "root", target: "vda"), (name: "data", target: "sda"), (name: "share", target: "sdb"), (name: "fast", target: "vdb")]

    /// Facts from a real probe recording: each disk found where the definition puts it.
    /// The expected serials are those the guest printed (hex in the recording, decoded by hand).
    @Test func factsOfARecordedRun() throws {
        let report = try ProbeReport.parse(try recordedReport("report-pc-4bus.txt"))
        let f = Facts.from(report: report, domain: recordedPCDomain(), targets: names, byID: false)
        #expect(f[.smbiosSerial] == "VMS-SMBIOS-1")
        #expect(f[.smbiosUUID] == "5a1e0c2d-3b4f-4a6e-9c8d-7e6f5a4b3c2d")
        #expect(f[.disk("root", .serial)] == "VIRTIOSERIAL0001")
        #expect(f[.disk("root", .bus)] == "virtio")
        #expect(f[.disk("data", .serial)] == "SCSI-SERIAL-0123456789-ABCDEFGHIJKLM")
        #expect(f[.disk("share", .serial)] == "SATASERIAL01")   // ATA's space padding removed
        #expect(f[.disk("share", .bus)] == "sata")
        #expect(f[.disk("fast", .serial)] == "NVMESERIAL01")
        #expect(f[.disk("fast", .present)] == "yes")
        #expect(f[.disk("root", .byid)] == nil, "probe reports have no by-id")
    }

    /// A disk is found by its address in the definition, not by order or kernel name: a disk the
    /// definition moved to a slot the guest has nothing at is absent.
    @Test func aDiskWhereTheGuestHasNothingIsAbsent() throws {
        let report = try ProbeReport.parse(try recordedReport("report-pc-4bus.txt"))
        var d = recordedPCDomain()
        d.devices.disks[0].address = .pci(bus: 0, slot: 9)
        let f = Facts.from(report: report, domain: d, targets: names, byID: false)
        #expect(f[.disk("root", .present)] == "no")
        #expect(f[.disk("root", .serial)] == Facts.none)
        #expect(f[.disk("data", .present)] == "yes")
    }

    @Test func byIDFactsLeaveOutPartitions() throws {
        var report = try ProbeReport.parse(try recordedReport("report-pc-4bus.txt"))
        report.version = 2
        report.byID = [.init(name: "virtio-VIRTIOSERIAL0001", target: "vda"), .init(name: "virtio-VIRTIOSERIAL0001-part1", target: "vda1"),
                       .init(name: "ata-QEMU_HARDDISK_SATASERIAL01", target: "sdb"), .init(name: "wwn-0x5000c50015ea71ac", target: "sdb")]
        let f = Facts.from(report: report, domain: recordedPCDomain(), targets: names, byID: true)
        #expect(f[.disk("root", .byid)] == "virtio-VIRTIOSERIAL0001")
        #expect(f[.disk("share", .byid)] == "ata-QEMU_HARDDISK_SATASERIAL01,wwn-0x5000c50015ea71ac")
        #expect(f[.disk("fast", .byid)] == Facts.none)
    }

    @Test func patternsExpandToWhatTheModeSees() {
        let probe = ObserveMode.probe.facts(disks: ["root", "data"])
        #expect(FactPattern("disk.data", disks: ["root", "data"])!.expand(probe).map(\.description) == ["disk.data.present", "disk.data.serial", "disk.data.bus"])
        #expect(FactPattern("smbios", disks: [])!.expand(probe).count == 2)
        #expect(FactPattern("all", disks: [])!.expand(probe).count == 8)
        #expect(FactPattern("disk.data.byid", disks: ["data"])!.expand(probe).isEmpty)
        #expect(FactPattern("disk.data.byid", disks: ["data"])!.expand(ObserveMode.guest.facts(disks: ["data"])).count == 1)
        // A disk name with a dot is matched whole.
        #expect(FactPattern("disk.sys.1", disks: ["sys.1"]) == .disk("sys.1"))
        #expect(FactPattern("disk.sys.1.serial", disks: ["sys.1"]) == .fact(.disk("sys.1", .serial)))
        #expect(FactPattern("disk.other", disks: ["sys.1"]) == nil)
    }

    @Test func judgeComparesEachFactAndTheNarrowerPatternWins() {
        let before = Facts([.smbiosSerial: "S1", .smbiosUUID: "u1", .disk("data", .serial): "D1", .disk("data", .bus): "virtio"])
        var now = before
        now.values[.disk("data", .serial)] = Facts.none
        let e = Expectation(against: "before", changed: [.fact(.disk("data", .serial))], same: [.all])
        let r = Judge.evaluate(e, before: before, now: now)
        #expect(r.map(\.fact) == ["smbios.serial", "smbios.uuid", "disk.data.serial", "disk.data.bus"])
        #expect(r.allSatisfy { $0.ok })
        #expect(r[2].expected == .changed && r[2].before == "D1" && r[2].seen == Facts.none)

        // The same observation judged against "nothing changes" fails on exactly that fact.
        let strict = Judge.evaluate(Expectation(against: "before", same: [.all]), before: before, now: now)
        #expect(strict.filter { !$0.ok }.map(\.fact) == ["disk.data.serial"])
        // And "must change" fails when it did not.
        let unchanged = Judge.evaluate(Expectation(against: "before", changed: [.smbios]), before: before, now: now)
        #expect(unchanged.map(\.ok) == [false, false])
    }
}
