import DomainXML
import Foundation
import Libvirt
import Testing
import VMSerialKit
import ProcessRunner

/// `vmserial scenario run` on real libvirt and QEMU (TCG here): the bundled scenarios on the
/// busybox test guest, and what a scenario must never do (touch the user's domain, images or
/// registry; leave a copy behind after bad input or Ctrl-C).
extension Integration {
@Suite
final class ScenarioIntegrationTests {
    let box: Sandbox
    static let scenarios = "\(packageRoot)/scenarios"

    init() throws { box = try Sandbox() }

    /// Runs vmserial with a run folder of the sandbox's own, so a test can see what is left in it.
    func vmserial(_ args: [String]) throws -> RunResult {
        try run(try vmserialBinary(), args, env: ["LIBVIRT_DEFAULT_URI": libvirtURI, "VMSERIAL_ACCEL": "tcg",
                                                 "VMSERIAL_RUN_DIR": runDir, "VMSERIAL_REGISTRY": box.registry])
    }
    var runDir: String { box.dir + "/run" }
    var leftInRunDir: [String] { (try? FileManager.default.contentsOfDirectory(atPath: runDir)) ?? [] }
    func copies() throws -> [String] { try box.connection.listDomainNames().filter { $0.contains("-scn-") && $0.hasPrefix("it-") } }

    static let bundled = ["serial-dropped", "serial-kept", "duplicate-serial", "unique-serials", "bus-changed", "bus-restored",
                          "smbios-uuid-changed", "smbios-kept", "copy-drops-serial", "migrate-keeps-serial", "reboot-relaunch"]

    /// Every bundled scenario holds: the bug variants see the change the bug causes inside the
    /// guest (a serial, a by-id name, the SMBIOS UUID), the fix variants and the control see none.
    /// Afterwards the copy is gone and the project's images are byte for byte what they were.
    @Test("bundled scenario", arguments: bundled)
    func bundledScenario(_ name: String) throws {
        let images = ["\(packageRoot)/images/build/guest.qcow2", "\(packageRoot)/images/build/scenario/data.qcow2",
                      "\(packageRoot)/images/build/scenario/logs.qcow2"]
        for i in images where !FileManager.default.fileExists(atPath: i) {
            Issue.record("\(i) is missing: run `make test` (it builds the images and the scenario disks)")
            return
        }
        let sums = try images.map(box.sha256)
        let junit = box.dir + "/\(name).xml"
        let r = try vmserial(["scenario", "run", name, "--json", "--junit", junit])
        #expect(r.status == 0, "\(r.all)")
        let out = try box.json(r)
        #expect(out["ok"] as? Bool == true, "\(r.stdout)")
        #expect(out["scenario"] as? String == name)
        let steps = (out["steps"] as? [[String: Any]]) ?? []
        let expectations = steps.flatMap { ($0["expectations"] as? [[String: Any]]) ?? [] }
        #expect(!expectations.isEmpty)
        #expect(expectations.allSatisfy { $0["ok"] as? Bool == true })
        let sawChange = expectations.contains { $0["expected"] as? String == "changed" && $0["before"] as? String != $0["seen"] as? String }
        #expect(sawChange == !Self.fixes.contains(name), "a bug variant must see its change; a fix or control none")
        // One libguestfs appliance serves every observation of a scenario, unless a step copies or
        // moves an image between two of them: then the next observation starts a new one.
        let observations = steps.filter { $0["kind"] as? String == "observe" }.count
        let starts = steps.filter { ($0["detail"] as? String)?.contains("libguestfs appliance started") == true }.count
        let movesImages = Self.movesImages.contains(name)
        #expect(starts == (movesImages ? observations : 1), "\(starts) appliance starts for \(observations) observations")
        // Guest mode: the guest's own by-id names are among the facts.
        let facts = (steps.first?["facts"] as? [String: String]) ?? [:]
        #expect(facts["disk.data.byid"]?.hasPrefix("virtio-") == true, "\(facts)")
        // JUnit: one test case per expectation.
        let x = try XElement.parse(try String(contentsOfFile: junit, encoding: .utf8))
        #expect(x[attribute: "tests"] == "\(expectations.count)" && x[attribute: "failures"] == "0")
        // Nothing left; nothing of the user's touched.
        let copy = try #require(out["copy"] as? String)
        #expect(!box.exists(copy), "the copy \(copy) was removed")
        #expect(leftInRunDir.isEmpty, "the copy's folder was removed: \(leftInRunDir)")
        #expect(try images.map(box.sha256) == sums, "the spec's images are unchanged")
    }

    static let movesImages: Set<String> = ["copy-drops-serial", "migrate-keeps-serial"]
    static let fixes: Set<String> = ["serial-kept", "unique-serials", "bus-restored", "smbios-kept", "migrate-keeps-serial", "reboot-relaunch"]

    /// A VM the user launched: its domain, its images and its registry stay exactly as they were,
    /// whatever the scenario does to its copy (perturb, copy, migrate, restore). Probe mode.
    @Test("a scenario never touches the user's domain, images or registry")
    func userWorldUntouched() throws {
        let vm = box.name("scnuser")
        let spec = try box.spec(vm, disks: [.init(name: "root", bus: "virtio"), .init(name: "data", bus: "scsi"), .init(name: "logs", bus: "sata")])
        #expect(try box.vmserial("launch", spec, "--no-start").status == 0)
        let files = ["\(vm)-root.qcow2", "\(vm)-data.qcow2", "\(vm)-logs.qcow2"].map { box.dir + "/" + $0 }
        let sums = try files.map(box.sha256)
        let xml = try box.connection.lookupDomain(name: vm).xmlDesc(inactive: true)
        let registry = try box.registrySnapshot()
        try box.write("user.json", """
        {"scenario": "user-untouched", "vm": "\(vm).json", "observe": "probe", "steps": [
          {"observe": "before"},
          {"perturb": {"disk": "data", "serial": null}},
          {"perturb": {"disk": "logs", "copyTo": "copied"}},
          {"observe": "after", "expect": {"changed": ["disk.data.serial", "disk.logs.serial"], "same": ["smbios", "disk.root"]}},
          {"restore": {}},
          {"migrate": {"disk": "root", "to": "moved"}},
          {"observe": "moved", "expect": {"same": ["all"]}}
        ]}
        """)
        let r = try vmserial(["scenario", "run", box.dir + "/user.json", "--json"])
        #expect(r.status == 0, "\(r.all)")
        #expect(try files.map(box.sha256) == sums, "the user's images are unchanged")
        #expect(try box.connection.lookupDomain(name: vm).xmlDesc(inactive: true) == xml, "the user's domain is unchanged")
        #expect(try box.registrySnapshot() == registry, "the user's registry is unchanged")
        #expect(try copies().isEmpty && leftInRunDir.isEmpty)
        // The scenario saw what the probe saw: SATA's missing serial is QEMU's default one, not empty.
        let after = try box.json(r)["steps"].flatMap { $0 as? [[String: Any]] }?.first { $0["name"] as? String == "after" }
        let logs = (after?["facts"] as? [String: String])?["disk.logs.serial"] ?? ""
        #expect(logs.hasPrefix("QM000"), "QEMU gives an ATA disk without <serial> its own (QM0000n): \(logs)")
    }

    /// Bad scenarios exit 2 with the field named, before anything is created; a perturbation that
    /// cannot apply is found only when it runs, and still leaves nothing behind.
    @Test("bad scenarios exit 2 with the field named and leave nothing behind")
    func badScenarios() throws {
        let vm = box.name("scnbad")
        _ = try box.spec(vm, disks: [.init(name: "root", bus: "virtio"), .init(name: "data", bus: "virtio")])
        let before = try box.connection.listDomainNames()
        try box.write("bad.json", """
        {"scenario": "bad", "vm": "\(vm).json", "observe": "probe", "colour": 1, "steps": [
          {"observe": "a", "expect": {"against": "b", "same": ["all"]}},
          {"observe": "b", "expect": {"changed": ["disk.data.byid", "disk.nosuch"]}},
          {"perturb": {"disk": "nosuch", "bus": "virtio"}}
        ]}
        """)
        let r = try vmserial(["scenario", "run", box.dir + "/bad.json"])
        #expect(r.status == 2, "\(r.all)")
        for field in ["colour", "steps[0].expect.against", "steps[1].expect.changed[0]", "steps[1].expect.changed[1]", "steps[2].perturb.disk"] {
            #expect(r.stderr.contains("  - \(field): "), "names \(field): \(r.stderr)")
        }
        #expect(r.stderr.contains("probe cannot see disk.data.byid"), "\(r.stderr)")

        try box.write("late.json", """
        {"scenario": "late", "vm": "\(vm).json", "observe": "probe", "steps": [
          {"observe": "a"}, {"perturb": {"disk": "data", "target": "vda"}}, {"observe": "b"}
        ]}
        """)
        let late = try vmserial(["scenario", "run", box.dir + "/late.json"])
        #expect(late.status == 2, "\(late.all)")
        #expect(late.stderr.contains("steps[1].perturb: target vda is taken"), "\(late.stderr)")
        #expect(try box.connection.listDomainNames().sorted() == before.sorted(), "no domain left")
        #expect(leftInRunDir.isEmpty, "no overlay or scratch registry left: \(leftInRunDir)")
        #expect(!FileManager.default.fileExists(atPath: box.registry), "the user's registry was not even created")

        let missing = try vmserial(["scenario", "run", "no-such-scenario"])
        #expect(missing.status == 2 && missing.stderr.contains("cannot read scenario no-such-scenario"), "\(missing.all)")
    }

    /// Ctrl-C while the copy's guest boots: the guest is destroyed, the copy undefined, its folder removed, exit 130.
    @Test("Ctrl-C mid-boot leaves nothing behind")
    func interrupted() throws {
        let vm = box.name("scnint")
        _ = try box.spec(vm, disks: [.init(name: "root", bus: "virtio")])
        try box.write("int.json", #"{"scenario": "int", "vm": "\#(vm).json", "observe": "probe", "steps": [{"observe": "a"}]}"#)
        let p = try startVmserial(["scenario", "run", box.dir + "/int.json"],
                                  env: ["VMSERIAL_RUN_DIR": runDir, "VMSERIAL_ACCEL": "tcg", "LIBVIRT_DEFAULT_URI": libvirtURI])
        let deadline = Date().addingTimeInterval(60)
        func running() -> Bool {
            (try? copies().contains { (try? box.connection.lookupDomain(name: $0).isActive) == true }) ?? false
        }
        // The copy's name is not known in advance, so there is no domain to wait on: look every
        // 50 ms, waiting on vmserial's exit meanwhile (an early exit ends the loop at once).
        while !running() && Date() < deadline && p.wait(timeout: .milliseconds(50)) == nil {}
        try #require(running(), "the copy's guest never started")
        p.signal(SIGINT)
        #expect(p.wait().status == 130)
        #expect(try copies().isEmpty, "the copy was undefined")
        #expect(leftInRunDir.isEmpty, "its folder was removed: \(leftInRunDir)")
    }

    @Test("--keep keeps the copy and says where")
    func keep() throws {
        let vm = box.name("scnkeep")
        _ = try box.spec(vm, disks: [.init(name: "root", bus: "virtio")])
        try box.write("keep.json", #"{"scenario": "keep", "vm": "\#(vm).json", "observe": "probe", "steps": [{"observe": "a"}]}"#)
        let r = try vmserial(["scenario", "run", box.dir + "/keep.json", "--keep", "--json"])
        #expect(r.status == 0, "\(r.all)")
        let copy = try #require(try box.json(r)["copy"] as? String)
        defer {
            try? box.connection.lookupDomain(name: copy).undefine()
        }
        #expect(box.exists(copy))
        #expect((try box.json(r)["kept"] as? String)?.contains(copy) == true)
        #expect(leftInRunDir.count == 1, "\(leftInRunDir)")
    }
}
}
