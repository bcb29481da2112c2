import Foundation
import Testing
@testable import Verifier

@Suite("Probe reports")
struct ProbeReportTests {
    @Test func recordedPCReport() throws {
        let r = try ProbeReport.parse(try fixture("report-pc-4bus.txt"))
        #expect(r.version == 1)
        #expect(r.smbiosSerial == "VMS-SMBIOS-1")
        #expect(r.smbiosUUID == "5a1e0c2d-3b4f-4a6e-9c8d-7e6f5a4b3c2d")
        #expect(r.devices.map(\.name) == ["nvme0n1", "sda", "sdb", "vda"])
        #expect(r.devices.map(\.bus) == ["nvme", "scsi", "sata", "virtio"])
        #expect(r.devices.map(\.path) == [PC.nvme, PC.scsi, PC.sata, PC.virtio])
        #expect(r.devices.map(\.ataPort) == [nil, nil, 3, nil])
        // Padding arrives byte for byte; `serial` takes it off.
        #expect(r.devices.map(\.rawSerial) == ["NVMESERIAL01        ", scsiSerial, "SATASERIAL01        ", "VIRTIOSERIAL0001"])
        #expect(r.devices.map(\.serial) == ["NVMESERIAL01", scsiSerial, "SATASERIAL01", "VIRTIOSERIAL0001"])
    }

    @Test func recordedQ35Report() throws {
        let r = try ProbeReport.parse(try fixture("report-q35-4bus.txt"))
        #expect(r.smbiosSerial == "VMS-SMBIOS-Q35")
        #expect(r.smbiosUUID == "0f1e2d3c-4b5a-4697-8877-665544332211")
        #expect(r.devices.first { $0.name == "sdb" }?.path == "/sys/devices/pci0000:00/0000:00:1f.2/ata3/host3/target3:0:0/3:0:0:0/block/sdb")
        #expect(r.devices.map(\.serial) == ["NVMESERIAL01", scsiSerial, "SATASERIAL01", "VIRTIOSERIAL0001"])
    }

    @Test func recordedTruncatedVirtioReport() throws {
        let r = try ProbeReport.parse(try fixture("report-truncated-virtio.txt"))
        #expect(r.devices.map(\.serial) == ["VIRTIO-SERIAL-21CHAR", "VIRTIOSERIAL-20CHARS", "VIRTIOSERIAL-19CHAR", "VIRTIO-SERIAL-IS-WAY"])
        #expect(r.devices.map(\.rawSerial.utf8.count) == [20, 20, 19, 20])
    }

    @Test func recordedReportWithoutSMBIOS() throws {
        let r = try ProbeReport.parse(try fixture("report-no-smbios.txt"))
        #expect(r.smbiosSerial == "")
        #expect(r.smbiosUUID == "")
        #expect(r.devices.map(\.serial) == ["VIRTIOSERIAL0001", ""])
    }

    @Test func pingIsNotAReport() throws {
        let ping = try fixture("ping.txt")
        #expect(ping == "VMSERIAL-PING ok\n")
        #expect(throws: ProbeReportError.noReport) { try ProbeReport.parse(ping) }
        #expect(try ProbeReport.parseAll(ping) == [])
        #expect(ProbeReport.countComplete(ping) == 0)
    }

    @Test func theConsoleHoldsNoReport() throws {
        #expect(throws: ProbeReportError.noReport) { try ProbeReport.parse(try fixture("console-pc.txt")) }
        #expect(try ProbeReport.parseAll(try fixture("console-pc-verbose.txt")) == [])
    }

    @Test func kernelNoiseAroundTheReportIsIgnored() throws {
        let noise = try fixture("console-pc-verbose.txt")   // CR LF, 400 lines of kernel log
        let report = try fixture("report-pc-4bus.txt")
        let parsed = try ProbeReport.parse(noise + report + noise)
        #expect(parsed == (try ProbeReport.parse(report)))
        let lines = "[    2.104] virtio_blk virtio0: [vda] 131072 512-byte logical blocks\nrandom: crng init done\n"
        #expect(try ProbeReport.parse(lines + report + "[    5.114298] reboot: Power down\n") == (try ProbeReport.parse(report)))
    }

    @Test func crlfLineEndings() throws {
        let report = try fixture("report-pc-4bus.txt")
        let crlf = report.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(crlf.contains("\r\n"))
        #expect(try ProbeReport.parse(crlf) == (try ProbeReport.parse(report)))
    }

    @Test func multipleReportsInOrder() throws {
        let text = try fixture("report-pc-4bus.txt") + "vmserial-probe: rebooting\n" + (try fixture("report-q35-4bus.txt"))
            + (try fixture("report-no-smbios.txt"))
        let all = try ProbeReport.parseAll(text)
        #expect(all.map(\.smbiosSerial) == ["VMS-SMBIOS-1", "VMS-SMBIOS-Q35", ""])
        #expect(ProbeReport.countComplete(text) == 3)
        #expect(try ProbeReport.parse(text).smbiosSerial == "VMS-SMBIOS-1")
    }

    @Test func truncatedReport() throws {
        let report = try fixture("report-pc-4bus.txt")
        let cut = report.components(separatedBy: "VMSERIAL-REPORT-END")[0]
        #expect(throws: ProbeReportError.truncated(linesSeen: 6)) { try ProbeReport.parse(cut) }
        // A complete report followed by an unfinished one: still an error, the run lost a cycle.
        #expect(throws: ProbeReportError.truncated(linesSeen: 2)) {
            try ProbeReport.parseAll(report + "VMSERIAL-REPORT-BEGIN version=1\nsmbios serial= uuid=\n")
        }
        #expect(ProbeReport.countComplete(cut) == 0)
    }

    @Test("a report read while its end line is being written is not complete yet; with its newline it is")
    func endLineBeingWritten() throws {
        let report = try fixture("report-pc-4bus.txt")
        let end = try #require(report.range(of: "VMSERIAL-REPORT-END"))
        for cut in [report[..<end.upperBound], report[..<report.index(end.upperBound, offsetBy: 4)],
                    report[..<report.index(before: report.endIndex)]] {
            #expect(ProbeReport.countComplete(String(cut)) == 0, "\(cut.suffix(30))")
        }
        #expect(ProbeReport.countComplete(report) == 1)
        #expect(ProbeReport.countComplete(report.replacingOccurrences(of: "\n", with: "\r\n")) == 1)
    }

    @Test func lineCountMismatch() throws {
        let report = try fixture("report-pc-4bus.txt")
        #expect(throws: ProbeReportError.lineCountMismatch(declared: 6, seen: 5)) {
            try ProbeReport.parse(report.replacingOccurrences(of: "lines=5", with: "lines=6"))
        }
        // A line lost on the way.
        let lost = report.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("name=sdb") }.joined(separator: "\n")
        #expect(throws: ProbeReportError.lineCountMismatch(declared: 5, seen: 4)) { try ProbeReport.parse(lost) }
    }

    @Test func unsupportedVersion() throws {
        let text = reportText(version: 3, disks: [])
        #expect(throws: ProbeReportError.unsupportedVersion(3)) { try ProbeReport.parse(text) }
        #expect(ProbeReportError.unsupportedVersion(3).description.contains("version 3"))
    }

    @Test func versionTwoCarriesByIDAndBoot() throws {
        let text = """
        VMSERIAL-REPORT-BEGIN version=2
        smbios serial=4142 uuid=0E7F0B8A-0000-4000-8000-000000000001
        disk name=vda bus=virtio path=/sys/devices/pci0000:00/0000:00:04.0/virtio1/block/vda serial=5653 ataport=
        byid name=virtio-VS target=vda
        byid name=virtio-VS-part1 target=vda1
        boot n=3 init=initd
        VMSERIAL-REPORT-END lines=5
        """
        let r = try ProbeReport.parse(text)
        #expect(r.version == 2)
        #expect(r.byID == [ByIDLink(name: "virtio-VS", target: "vda"), ByIDLink(name: "virtio-VS-part1", target: "vda1")])
        #expect(r.boot == 3)
        #expect(r.initSystem == "initd")
        #expect(r.devices.map(\.serial) == ["VS"])
    }

    @Test func byIDAndBootLinesAreNotVersionOne() throws {
        let text = """
        VMSERIAL-REPORT-BEGIN version=1
        smbios serial=4142 uuid=0e7f0b8a-0000-4000-8000-000000000001
        byid name=virtio-VS target=vda
        VMSERIAL-REPORT-END lines=2
        """
        #expect(throws: ProbeReportError.malformedLine(number: 3, line: "byid name=virtio-VS target=vda", reason: "unknown record")) {
            try ProbeReport.parse(text)
        }
    }

    @Test(arguments: ["4e5", "zz", "4e564g", "4e56\u{7f}"])
    func malformedHex(serial: String) throws {
        // Two lines of noise first: the line number counts from the start of the text.
        let text = "noise\nnoise\n" + (try fixture("report-pc-4bus.txt"))
            .replacingOccurrences(of: "serial=4e564d4553455249414c30312020202020202020", with: "serial=\(serial)")
        let e = #expect(throws: ProbeReportError.self) { try ProbeReport.parse(text) }
        guard case let .malformedLine(number, line, reason)? = e else {
            Issue.record("expected malformedLine, got \(String(describing: e))")
            return
        }
        #expect(number == 5)
        #expect(line.hasPrefix("disk name=nvme0n1"))
        #expect(reason.contains("serial=<hex>"))
    }

    @Test func malformedRecords() throws {
        let noSMBIOS = "VMSERIAL-REPORT-BEGIN version=1\ndisk name=vda bus=virtio path=/x serial= ataport=\nVMSERIAL-REPORT-END lines=1\n"
        #expect(throws: ProbeReportError.malformedLine(number: 1, line: "VMSERIAL-REPORT-BEGIN version=1", reason: "no smbios line")) {
            try ProbeReport.parse(noSMBIOS)
        }
        let unknown = "VMSERIAL-REPORT-BEGIN version=1\nsmbios serial= uuid=\nfrobnicate x=1\nVMSERIAL-REPORT-END lines=2\n"
        #expect(throws: ProbeReportError.malformedLine(number: 3, line: "frobnicate x=1", reason: "unknown record")) {
            try ProbeReport.parse(unknown)
        }
        let noVersion = "VMSERIAL-REPORT-BEGIN\nsmbios serial= uuid=\nVMSERIAL-REPORT-END lines=1\n"
        #expect(throws: ProbeReportError.malformedLine(number: 1, line: "VMSERIAL-REPORT-BEGIN", reason: "no version")) {
            try ProbeReport.parse(noVersion)
        }
        let noCount = "VMSERIAL-REPORT-BEGIN version=1\nsmbios serial= uuid=\nVMSERIAL-REPORT-END\n"
        #expect(throws: ProbeReportError.malformedLine(number: 3, line: "VMSERIAL-REPORT-END", reason: "no line count")) {
            try ProbeReport.parse(noCount)
        }
        let noPath = "VMSERIAL-REPORT-BEGIN version=1\nsmbios serial= uuid=\ndisk name=vda bus=virtio serial=41\nVMSERIAL-REPORT-END lines=2\n"
        #expect(throws: ProbeReportError.self) { try ProbeReport.parse(noPath) }
    }

    @Test func synthesizedReportRoundTrips() throws {
        let text = reportText(smbiosSerial: "ASSET 42", uuid: "ABCDEF00-0000-4000-8000-000000000001", disks: [
            (name: "sda", bus: "sata", path: "/sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda",
             serial: "VS0A1B2C3D4E5F6G7H8J", ataport: "1"),
        ])
        let r = try ProbeReport.parse(text)
        #expect(r.smbiosSerial == "ASSET 42")
        #expect(r.smbiosUUID == "abcdef00-0000-4000-8000-000000000001")   // lower-cased
        #expect(r.devices.first?.ataPort == 1)
    }

    @Test func upperCaseHexAndNonUTF8Bytes() throws {
        #expect(ProbeReport.decodeHex("4E56") == "NV")
        #expect(ProbeReport.decodeHex("") == "")
        // 0xE9 alone is not UTF-8: kept as Latin-1 é rather than lost.
        #expect(ProbeReport.decodeHex("41e942") == "AéB")
        #expect(ProbeReport.decodeHex("41c3a942") == "AéB")
    }

    @Test func paddingIsSpacesAndNULsAtTheEndOnly() {
        #expect(GuestDevice(name: "sda", bus: "sata", path: "", rawSerial: "  AB CD  \0\0").serial == "  AB CD")
        #expect(GuestDevice(name: "sda", bus: "sata", path: "", rawSerial: "      ").serial == "")
    }
}

@Test("a report behind UEFI firmware's terminal escapes on the same line still parses")
func reportAfterFirmwareEscapes() throws {
    // As OVMF leaves it on the second serial port: clear-screen escapes, then the marker.
    let text = "\u{1B}[2J\u{1B}[01;01H\u{1B}[=3h\u{1B}[2J\u{1B}[01;01HVMSERIAL-REPORT-BEGIN version=1\n"
        + "smbios serial=4c4943 uuid=ccdcb5d5-2271-42d6-8a9c-68e2d0b1a7f3\n"
        + "disk name=sda bus=sata path=/sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda serial=5653 ataport=1\n"
        + "VMSERIAL-REPORT-END lines=2\n"
    let r = try ProbeReport.parse(text)
    #expect(r.smbiosSerial == "LIC")
    #expect(r.devices.map(\.serial) == ["VS"])
}
