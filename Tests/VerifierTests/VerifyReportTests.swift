import DomainXML
import Foundation
import Testing
@testable import Verifier

@Suite("Verify report outputs")
struct VerifyReportTests {
    /// Two cycles: a clean boot, then a reboot with one tampered serial.
    func sampleReport() throws -> VerifyReport {
        let report = try ProbeReport.parse(try fixture("report-pc-4bus.txt"))
        let good = Comparator.checks(expected: pcExpected(), domain: pcDomain(), report: report)
        let bad = Comparator.checks(expected: pcExpected(serials: ["vda": "VS0A1B2C3D4E5F6G7H8J"]), domain: pcDomain(), report: report)
        return VerifyReport(domain: "vm1", cycles: [
            .init(cycle: 1, kind: .boot, checks: good, seconds: 9.25),
            .init(cycle: 2, kind: .guestReboot, checks: bad, seconds: 4.5),
        ])
    }

    @Test func okOnlyWhenEveryCheckPasses() throws {
        var r = try sampleReport()
        #expect(!r.ok)
        #expect(r.cycles.map(\.ok) == [true, false])
        r.cycles.removeLast()
        #expect(r.ok)
        r.error = "timed out"
        #expect(!r.ok)
        #expect(!VerifyReport(domain: "empty").ok)
    }

    @Test func jsonKeys() throws {
        let json = try sampleReport().json()
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(Set(root.keys) == ["domain", "mode", "ok", "cycles"])
        #expect(root["domain"] as? String == "vm1")
        #expect(root["mode"] as? String == "probe")
        #expect(root["ok"] as? Bool == false)
        let cycles = try #require(root["cycles"] as? [[String: Any]])
        #expect(cycles.count == 2)
        #expect(cycles.map { $0["cycle"] as? Int } == [1, 2])
        #expect(cycles.map { $0["kind"] as? String } == ["boot", "guest-reboot"])
        let checks = try #require(cycles[1]["checks"] as? [[String: Any]])
        #expect(checks.count == 6)
        for c in checks {
            #expect(c["what"] is String)
            #expect(c["expected"] is String)
            #expect(c["seen"] is String)
            #expect(c["ok"] is Bool)
        }
        let failed = try #require(checks.first { $0["ok"] as? Bool == false })
        #expect(failed["what"] as? String == "disk root (virtio vda) serial")
        #expect(failed["expected"] as? String == "VS0A1B2C3D4E5F6G7H8J")
        #expect(failed["seen"] as? String == "VIRTIOSERIAL0001")
        #expect((failed["detail"] as? String)?.contains("changed outside vmserial") == true)
        #expect(checks.first { $0["ok"] as? Bool == true }?["detail"] == nil)
    }

    @Test func jsonCarriesTheErrorAndDecodesBack() throws {
        var r = try sampleReport()
        r.error = "the probe guest of vm1 sent 1 of 2 reports"
        let json = r.json()
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(root["error"] as? String == "the probe guest of vm1 sent 1 of 2 reports")
        #expect(try JSONDecoder().decode(VerifyReport.self, from: Data(json.utf8)) == r)
    }

    @Test func junitHasOneTestcasePerCheck() throws {
        let r = try sampleReport()
        let root = try XElement.parse(r.junit())
        #expect(root.name == "testsuites")
        #expect(root[attribute: "tests"] == "12")
        #expect(root[attribute: "failures"] == "1")
        #expect(root[attribute: "errors"] == "0")
        let suites = root.all("testsuite")
        #expect(suites.map { $0[attribute: "name"] } == ["vm1.cycle1.boot", "vm1.cycle2.guest-reboot"])
        #expect(suites.map { $0[attribute: "time"] } == ["9.250", "4.500"])
        let cases = suites.flatMap { $0.all("testcase") }
        #expect(cases.count == r.cycles.reduce(0) { $0 + $1.checks.count })
        #expect(cases.map { $0[attribute: "name"] } == r.cycles.flatMap { $0.checks.map(\.what) })
        let failures = cases.compactMap { $0.first("failure") }
        #expect(failures.count == 1)
        let f = try #require(failures.first)
        #expect(f[attribute: "message"]?.contains("VS0A1B2C3D4E5F6G7H8J") == true)
        #expect(f.text == "expected: VS0A1B2C3D4E5F6G7H8J\nseen: VIRTIOSERIAL0001")
        #expect(suites[1].all("testcase").first { $0.first("failure") != nil }?[attribute: "name"] == "disk root (virtio vda) serial")
    }

    @Test func junitEscapesAndReportsTheRunError() throws {
        let r = VerifyReport(domain: "vm<&>\"'1", cycles: [
            .init(cycle: 1, kind: .boot, checks: [
                Check(what: "disk \"a\" <b> & 'c'", expected: "A&B", seen: "<none>", ok: false, detail: "x < y & \"z\""),
            ]),
        ], error: "timed out <after 60 s> & gave up")
        let root = try XElement.parse(r.junit())
        #expect(root[attribute: "name"] == "vmserial verify vm<&>\"'1")
        #expect(root[attribute: "errors"] == "1")
        let c = try #require(root.first("testsuite")?.first("testcase"))
        #expect(c[attribute: "name"] == "disk \"a\" <b> & 'c'")
        #expect(c.first("failure")?[attribute: "message"] == "x < y & \"z\"")
        #expect(c.first("failure")?.text == "expected: A&B\nseen: <none>")
        let run = try #require(root.all("testsuite").last)
        #expect(run[attribute: "name"] == "vm<&>\"'1.run")
        #expect(run.first("testcase")?.first("error")?[attribute: "message"] == "timed out <after 60 s> & gave up")
    }

    /// A garbled guest serial (control bytes) must not make the JUnit file unreadable for CI.
    @Test func junitSurvivesControlCharactersFromTheGuest() throws {
        let r = VerifyReport(domain: "vm1", cycles: [
            .init(cycle: 1, kind: .boot, checks: [
                Check(what: "disk root (virtio vda) serial", expected: "VSAAAA", seen: "VS\u{1}\u{0}AA\u{1b}", ok: false, detail: "seen VS\u{1}\u{0}AA\u{1b}"),
            ]),
        ])
        let root = try XElement.parse(r.junit())
        #expect(root.first("testsuite")?.all("testcase").count == 1)
        let failure = try #require(root.first("testsuite")?.first("testcase")?.first("failure"))
        #expect(failure.text == "expected: VSAAAA\nseen: VS\\x01\\x00AA\\x1b")
        #expect(failure[attribute: "message"] == "seen VS\\x01\\x00AA\\x1b")
    }

    @Test func tableListsFailures() throws {
        let table = try sampleReport().table()
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("CYCLE") == true)
        #expect(lines.filter { $0.hasSuffix("  ok") }.count == 11)
        #expect(lines.filter { $0.hasSuffix("  FAIL") }.count == 1)
        let fail = try #require(lines.first { $0.hasPrefix("FAIL ") })
        #expect(fail.hasPrefix("FAIL cycle 2 disk root (virtio vda) serial: "))
        #expect(fail.contains("VIRTIOSERIAL0001"))
        #expect(lines.last == "vm1: FAILED: 11 of 12 checks passed in 2 cycles")
        #expect(!table.contains("ERROR"))
    }

    @Test func tableOfAPassingRun() throws {
        var r = try sampleReport()
        r.cycles.removeLast()
        let table = r.table()
        #expect(!table.contains("FAIL"))
        #expect(table.hasSuffix("vm1: OK: 6 of 6 checks passed in 1 cycle\n"))
        r.error = "no report"
        #expect(r.table().contains("ERROR no report"))
        // Empty values are shown, not left blank.
        let empty = VerifyReport(domain: "v", cycles: [.init(cycle: 1, kind: .boot, checks: [Check(what: "smbios serial", expected: "", seen: "", ok: true)])])
        #expect(empty.table().contains("(none)"))
    }
}
