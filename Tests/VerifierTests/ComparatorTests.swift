import DomainXML
import Foundation
import Testing
@testable import Verifier

@Suite("Comparing a report with the expected identity")
struct ComparatorTests {
    @Test func recordedPCRunPasses() throws {
        let report = try ProbeReport.parse(try fixture("report-pc-4bus.txt"))
        let checks = Comparator.checks(expected: pcExpected(), domain: pcDomain(), report: report)
        #expect(checks.map(\.what) == [
            "smbios serial", "smbios uuid",
            "disk root (virtio vda) serial", "disk data (scsi sda) serial", "disk share (sata sdb) serial", "disk fast (nvme vdb) serial",
        ])
        #expect(checks.filter { !$0.ok } == [])
        #expect(checks.map(\.seen) == ["VMS-SMBIOS-1", pcUUID, "VIRTIOSERIAL0001", scsiSerial, "SATASERIAL01", "NVMESERIAL01"])
        #expect(checks.allSatisfy { $0.detail == nil })
    }

    @Test func recordedQ35RunPasses() throws {
        let report = try ProbeReport.parse(try fixture("report-q35-4bus.txt"))
        let domain = pcDomain(machine: "pc-q35-7.2", slots: (virtio: 1, scsi: 2, sata: 0x1f, nvme: 3))
        let expected = pcExpected(smbiosSerial: "VMS-SMBIOS-Q35", uuid: "0F1E2D3C-4B5A-4697-8877-665544332211")
        let checks = Comparator.checks(expected: expected, domain: domain, report: report)
        #expect(checks.count == 6)
        #expect(checks.filter { !$0.ok } == [])
    }

    /// ATA pads the serial with spaces to 20 bytes; that is not a mismatch.
    @Test func ataPaddingPasses() throws {
        let report = try ProbeReport.parse(try fixture("report-pc-4bus.txt"))
        let sata = try #require(report.devices.first { $0.bus == "sata" })
        #expect(sata.rawSerial.hasSuffix("        "))
        let check = try #require(Comparator.checks(expected: pcExpected(), domain: pcDomain(), report: report).first { $0.what.contains("sata") })
        #expect(check.ok)
        #expect(check.seen == "SATASERIAL01")
    }

    @Test func serialChangedBehindVMSerialsBack() throws {
        // The registry assigned VS…; someone edited the domain to VIRTIOSERIAL0001, which the guest shows.
        let report = try ProbeReport.parse(try fixture("report-pc-4bus.txt"))
        let expected = pcExpected(serials: ["vda": "VS0A1B2C3D4E5F6G7H8J"])
        let checks = Comparator.checks(expected: expected, domain: pcDomain(), report: report)
        let failed = checks.filter { !$0.ok }
        #expect(failed.count == 1)
        let c = try #require(failed.first)
        #expect(c.what == "disk root (virtio vda) serial")
        #expect(c.expected == "VS0A1B2C3D4E5F6G7H8J")
        #expect(c.seen == "VIRTIOSERIAL0001")
        let detail = try #require(c.detail)
        #expect(detail.contains("VIRTIOSERIAL0001"))
        #expect(detail.contains("VS0A1B2C3D4E5F6G7H8J"))
        #expect(detail.contains("changed outside vmserial"))
    }

    @Test func serialTruncatedByTheHypervisor() throws {
        // A 40-character serial on scsi (QEMU 7.2 keeps 36, silently).
        let long = "SCSI-SERIAL-0123456789-ABCDEFGHIJKLMNOP"
        #expect(long.count == 39 || long.count == 40)
        let forty = String((long + "QRSTUVWXYZ").prefix(40))
        let report = try ProbeReport.parse(reportText(disks: [
            (name: "sda", bus: "scsi", path: PC.scsi, serial: String(forty.prefix(36)), ataport: ""),
        ]))
        let expected = ExpectedIdentity(uuid: pcUUID, smbiosSerial: "VMS-SMBIOS-1", disks: [
            ExpectedDisk(name: "data", bus: .scsi, target: "sda", serial: forty),
        ])
        var domain = pcDomain(serials: ["sda": forty])
        domain.devices.disks.removeAll { $0.targetDev != "sda" }
        let c = try #require(Comparator.checks(expected: expected, domain: domain, report: report).first { $0.what.contains("sda") })
        #expect(!c.ok)
        #expect(c.seen == String(forty.prefix(36)))
        let detail = try #require(c.detail)
        #expect(detail.contains("truncated by the hypervisor"))
        #expect(detail.contains(forty))
        #expect(detail.contains(String(forty.prefix(36))))
    }

    @Test func truncatedAndChangedBehindVMSerialsBack() throws {
        // The domain was edited to a 40-character serial the registry never gave, and QEMU cut it.
        let forty = String(repeating: "X", count: 40)
        let report = try ProbeReport.parse(reportText(disks: [
            (name: "sda", bus: "scsi", path: PC.scsi, serial: String(forty.prefix(36)), ataport: ""),
        ]))
        let expected = ExpectedIdentity(uuid: pcUUID, smbiosSerial: "VMS-SMBIOS-1", disks: [
            ExpectedDisk(name: "data", bus: .scsi, target: "sda", serial: "MANUAL-0001"),
        ])
        var domain = pcDomain(serials: ["sda": forty])
        domain.devices.disks.removeAll { $0.targetDev != "sda" }
        let c = try #require(Comparator.checks(expected: expected, domain: domain, report: report).first { $0.what.contains("sda") })
        #expect(!c.ok)
        #expect(c.detail?.contains("changed outside vmserial") == true)
        #expect(c.detail?.contains("truncated by the hypervisor") == true)
        #expect(c.detail?.contains("scsi keeps 36") == true)
    }

    @Test func recordedVirtioTruncation() throws {
        let report = try ProbeReport.parse(try fixture("report-truncated-virtio.txt"))
        let given = ["vda": "VIRTIO-SERIAL-21CHARS", "vdb": "VIRTIOSERIAL-20CHARS", "vdc": "VIRTIOSERIAL-19CHAR",
                     "vdd": "VIRTIO-SERIAL-IS-WAY-TOO-LONG-40-CHARS-X"]
        var domain = Domain(type: "qemu", name: "t", uuid: "11111111-2222-4333-8444-555555555555", memoryKiB: 1024, vcpus: 1, os: .init())
        let targets = ["vda", "vdb", "vdc", "vdd"]
        domain.devices.disks = targets.enumerated().map { i, t in
            Disk(driverType: "qcow2", source: "/d\(i)", targetDev: t, targetBus: "virtio", serial: given[t], address: .pci(bus: 0, slot: 2 + i))
        }
        let expected = ExpectedIdentity(uuid: "11111111-2222-4333-8444-555555555555", smbiosSerial: "VMS-SMBIOS-TRUNC",
                                        disks: targets.map { ExpectedDisk(name: $0, bus: .virtio, target: $0, serial: given[$0]) })
        let checks = Comparator.checks(expected: expected, domain: domain, report: report)
        #expect(checks.map(\.ok) == [true, true, false, true, true, false])
        #expect(checks[2].detail == "truncated by the hypervisor: VIRTIO-SERIAL-21CHARS arrived as VIRTIO-SERIAL-21CHAR")
        #expect(checks[5].detail?.contains("truncated by the hypervisor") == true)
    }

    @Test func missingSMBIOSSerialFails() throws {
        let report = try ProbeReport.parse(try fixture("report-no-smbios.txt"))
        var domain = pcDomain()
        domain.devices.disks = [Disk(driverType: "qcow2", source: "/d0", targetDev: "vda", targetBus: "virtio",
                                     serial: "VIRTIOSERIAL0001", address: .pci(bus: 0, slot: 2))]
        let expected = ExpectedIdentity(uuid: pcUUID, smbiosSerial: pcUUID, disks: [
            ExpectedDisk(name: "root", bus: .virtio, target: "vda", serial: "VIRTIOSERIAL0001"),
        ])
        let checks = Comparator.checks(expected: expected, domain: domain, report: report)
        let serial = try #require(checks.first { $0.what == "smbios serial" })
        #expect(!serial.ok)
        #expect(serial.seen == "")
        #expect(serial.detail?.contains("no SMBIOS serial") == true)
        let uuid = try #require(checks.first { $0.what == "smbios uuid" })
        #expect(!uuid.ok)
        // vdb (no serial, not in the domain) is an unexpected device.
        let extra = try #require(checks.first { $0.what == "guest device vdb" })
        #expect(!extra.ok)
        #expect(extra.seen == "(no serial)")
        #expect(checks.first { $0.what.contains("vda") }?.ok == true)
    }

    @Test func unexpectedSMBIOSSerialFails() throws {
        let report = try ProbeReport.parse(try fixture("report-pc-4bus.txt"))
        let c = try #require(Comparator.checks(expected: pcExpected(smbiosSerial: nil), domain: pcDomain(), report: report).first)
        #expect(c.what == "smbios serial")
        #expect(!c.ok)
        #expect(c.detail?.contains("although none was assigned") == true)
    }

    @Test func diskAbsentInTheGuestFails() throws {
        let report = try ProbeReport.parse(try fixture("report-pc-4bus.txt"))
        var domain = pcDomain()
        domain.devices.disks.append(Disk(driverType: "raw", source: "/e", targetDev: "vdc", targetBus: "virtio",
                                         serial: "VSEXTRA0000000000000", address: .pci(bus: 0, slot: 9)))
        var expected = pcExpected()
        expected.disks.append(ExpectedDisk(name: "extra", bus: .virtio, target: "vdc", serial: "VSEXTRA0000000000000"))
        let checks = Comparator.checks(expected: expected, domain: domain, report: report)
        let c = try #require(checks.first { $0.what == "disk extra (virtio vdc) serial" })
        #expect(!c.ok)
        #expect(c.seen == "(no device)")
        #expect(c.detail?.contains("pci 09.0") == true)
        #expect(checks.filter { !$0.ok }.count == 1)
    }

    @Test func diskMissingFromTheDomainFails() throws {
        let report = try ProbeReport.parse(try fixture("report-pc-4bus.txt"))
        var domain = pcDomain()
        domain.devices.disks.removeAll { $0.targetDev == "vda" }
        let checks = Comparator.checks(expected: pcExpected(), domain: domain, report: report)
        #expect(checks.first { $0.what.contains("vda") }?.seen == "(not in domain)")
        // …and the guest's vda is then a device nothing maps to.
        #expect(checks.first { $0.what == "guest device vda" }?.ok == false)
    }

    @Test func nvmeWithoutItsOverrideIsTheWrongDevice() throws {
        let report = try ProbeReport.parse(try fixture("report-pc-4bus.txt"))
        var domain = pcDomain()
        domain.qemuOverrides = []
        let c = try #require(Comparator.checks(expected: pcExpected(), domain: domain, report: report).first { $0.what.contains("nvme") })
        #expect(!c.ok)
        #expect(c.seen == "(wrong device)")
        #expect(c.detail?.contains("as virtio, not nvme") == true)
    }

    @Test func diskWithoutAddressFails() throws {
        let report = try ProbeReport.parse(try fixture("report-pc-4bus.txt"))
        var domain = pcDomain()
        domain.devices.disks[0].address = nil
        let c = try #require(Comparator.checks(expected: pcExpected(), domain: domain, report: report).first { $0.what.contains("vda") })
        #expect(c.seen == "(no address)")
        #expect(!c.ok)
    }

    @Test func deviceThatCannotBePlaced() throws {
        let report = ProbeReport(smbiosSerial: "VMS-SMBIOS-1", smbiosUUID: pcUUID, devices: [
            GuestDevice(name: "vdz", bus: "unknown", path: "/sys/devices/platform/weird/block/vdz", rawSerial: ""),
        ])
        var domain = pcDomain()
        domain.devices.disks = []
        let checks = Comparator.checks(expected: ExpectedIdentity(uuid: pcUUID, smbiosSerial: "VMS-SMBIOS-1", disks: []),
                                       domain: domain, report: report)
        #expect(checks.count == 3)
        #expect(checks[2].what == "guest device vdz")
        #expect(checks[2].detail?.contains("cannot place") == true)
    }

    @Test func laterCycleMustMatchTheFirst() throws {
        let first = try ProbeReport.parse(try fixture("report-pc-4bus.txt"))
        #expect(Comparator.unchanged(first: first, now: first) == [])
        var now = first
        now.devices[3].rawSerial = "VIRTIOSERIAL0002"
        now.smbiosSerial = "OTHER"
        let changes = Comparator.unchanged(first: first, now: now)
        #expect(changes.map(\.what) == ["smbios serial unchanged since cycle 1", "device at pci 02.0 unchanged since cycle 1"])
        #expect(changes.last?.expected == "VIRTIOSERIAL0001")
        #expect(changes.last?.seen == "VIRTIOSERIAL0002")
        #expect(changes.allSatisfy { !$0.ok })
    }
}

@Suite("by-id links in guest reports (version 2)")
struct ByIDComparatorTests {
    /// The recorded pc run as the in-guest reporter would send it, with the guest's by-id links.
    func guestReport(links: [ByIDLink]) throws -> ProbeReport {
        var r = try ProbeReport.parse(try fixture("report-pc-4bus.txt"))
        r.version = 2
        r.byID = links
        return r
    }

    let allLinks = [
        ByIDLink(name: "virtio-VIRTIOSERIAL0001", target: "vda"),
        ByIDLink(name: "virtio-VIRTIOSERIAL0001-part1", target: "vda1"),
        ByIDLink(name: "scsi-0QEMU_QEMU_HARDDISK_\(scsiSerial.prefix(20))", target: "sda"),  // QEMU: first 20 characters
        ByIDLink(name: "ata-QEMU_HARDDISK_SATASERIAL01", target: "sdb"),
        ByIDLink(name: "nvme-QEMU_NVMe_Ctrl_NVMESERIAL01", target: "nvme0n1"),
    ]

    @Test func everyDiskHasItsLink() throws {
        let checks = Comparator.checks(expected: pcExpected(), domain: pcDomain(), report: try guestReport(links: allLinks))
        let byID = checks.filter { $0.what.hasSuffix("by-id") }
        #expect(byID.map(\.what) == ["disk root (virtio vda) by-id", "disk data (scsi sda) by-id",
                                     "disk share (sata sdb) by-id", "disk fast (nvme vdb) by-id"])
        #expect(checks.allSatisfy { $0.ok })
    }

    @Test func aMissingLinkFailsAndSaysWhyItMatters() throws {
        let links = allLinks.filter { !$0.name.hasPrefix("ata-") } + [ByIDLink(name: "ata-QEMU_HARDDISK_OLDSERIAL", target: "sdb")]
        let checks = Comparator.checks(expected: pcExpected(), domain: pcDomain(), report: try guestReport(links: links))
        let failed = checks.filter { !$0.ok }
        #expect(failed.count == 1)
        let c = try #require(failed.first)
        #expect(c.what == "disk share (sata sdb) by-id")
        #expect(c.expected == "ata-QEMU_HARDDISK_SATASERIAL01")
        #expect(c.seen == "ata-QEMU_HARDDISK_OLDSERIAL")
        #expect(c.detail?.contains("will not be found at boot") == true)
    }

    @Test func aLinkPointingAtAnotherDeviceFails() throws {
        let links = allLinks.map { $0.name.hasPrefix("virtio-VIRTIOSERIAL0001") && $0.target == "vda" ? ByIDLink(name: $0.name, target: "sdb") : $0 }
        let checks = Comparator.checks(expected: pcExpected(), domain: pcDomain(), report: try guestReport(links: links))
        let c = try #require(checks.first { $0.what == "disk root (virtio vda) by-id" })
        #expect(!c.ok)
        #expect(c.detail?.contains("points at sdb") == true)
    }

    @Test func noLinksAtAllIsNotChecked() throws {
        // A guest without udev (or a probe report): nothing to say about by-id.
        let checks = Comparator.checks(expected: pcExpected(), domain: pcDomain(), report: try guestReport(links: []))
        #expect(!checks.contains { $0.what.hasSuffix("by-id") })
    }
}
