import Foundation
import Testing
@testable import Scenario

@Suite struct ParserTests {
    /// The example of the scenario format, as the issue and README give it.
    @Test func theDocumentedExampleParses() throws {
        let f = try SpecFolder()
        try f.write("scenario.json", """
        {"scenario": "serial-dropped", "description": "the disks had serials; a platform upgrade drops them",
         "vm": "vm.json", "observe": "guest",
         "steps": [
           {"observe": "before"},
           {"perturb": {"disk": "data", "serial": null}},
           {"observe": "after", "expect": {"against": "before", "changed": ["disk.data.serial", "disk.data.byid"], "same": ["smbios", "disk.root"]}},
           {"restore": {}},
           {"observe": "fixed", "expect": {"against": "before", "same": ["all"]}}
         ]}
        """)
        let l = try ScenarioParser.load(path: f.path)
        #expect(l.scenario.name == "serial-dropped")
        #expect(l.scenario.observe == .guest)
        #expect(l.scenario.settle == 60)
        #expect(l.disks == ["root", "data", "logs"])
        #expect(l.scenario.vm == .file("\(f.dir)/vm.json"))
        #expect(l.scenario.steps == [
            .observe(Observe(name: "before")),
            .perturb(.serial(disk: "data", serial: nil)),
            .observe(Observe(name: "after", expect: Expectation(against: "before", changed: [.fact(.disk("data", .serial)), .fact(.disk("data", .byid))],
                                                                same: [.smbios, .disk("root")]))),
            .restore,
            .observe(Observe(name: "fixed", expect: Expectation(against: "before", same: [.all]))),
        ])
    }

    @Test func everyPerturbationForm() throws {
        let f = try SpecFolder()
        try f.write("scenario.json", """
        {"scenario": "all-forms", "vm": "vm.json", "steps": [
          {"observe": "a"},
          {"perturb": {"disk": "data", "serial": "NEW-0001"}},
          {"perturb": {"disk": "data", "bus": "nvme"}},
          {"perturb": {"disk": "logs", "target": "sdc"}},
          {"perturb": {"serials": "swap", "disks": ["data", "logs"]}},
          {"perturb": {"serials": "duplicate", "disks": ["root", "logs"]}},
          {"perturb": {"smbios": {"serial": null}}},
          {"perturb": {"smbios": {"uuid": "new"}}},
          {"perturb": {"smbios": {"uuid": "6F1C3F1E-0C1D-4D8E-9A63-1F0E2B3C4D5E"}}},
          {"perturb": {"disk": "data", "copyTo": "moved", "backing": "data.qcow2"}},
          {"migrate": {"disk": "data", "to": "/srv"}},
          {"reboot": {}},
          {"observe": "b"}
        ]}
        """)
        let steps = try ScenarioParser.load(path: f.path).scenario.steps
        #expect(steps[1...10] == [
            .perturb(.serial(disk: "data", serial: "NEW-0001")),
            .perturb(.bus(disk: "data", bus: .nvme)),
            .perturb(.target(disk: "logs", target: "sdc")),
            .perturb(.swapSerials("data", "logs")),
            .perturb(.duplicateSerial("root", "logs")),
            .perturb(.smbiosSerial(nil)),
            .perturb(.smbiosUUID(nil)),
            .perturb(.smbiosUUID("6f1c3f1e-0c1d-4d8e-9a63-1f0e2b3c4d5e")),
            .perturb(.copyTo(disk: "data", dir: "moved", backing: "\(f.dir)/data.qcow2")),
            .migrate(Migration(disk: "data", to: "/srv")),
        ])
        #expect(steps[11] == .reboot)
    }

    /// Every mistake at once, each with its field: the user fixes the file in one go.
    @Test func everyProblemIsReportedWithItsField() throws {
        let f = try SpecFolder()
        try f.write("scenario.json", """
        {"scenario": "bad", "vm": "vm.json", "observe": "probe", "colour": "red", "steps": [
          {"observe": "before", "expect": {"same": ["all"]}},
          {"perturb": {"disk": "nosuch", "serial": null}},
          {"perturb": {"disk": "data", "bus": "ide"}},
          {"perturb": {"disk": "data", "serial": "has space"}},
          {"observe": "after", "expect": {"against": "later", "same": ["all"]}},
          {"observe": "later", "expect": {"changed": ["disk.data.byid", "fstab", "disk.nosuch.serial"]}},
          {"observe": "later"},
          {"migrate": {"disk": "data", "to": "x", "live": true}},
          {"explode": {}}
        ]}
        """)
        let e = try #require(throws: ScenarioError.self) { try ScenarioParser.load(path: f.path) }
        let fields = e.problems.map(\.field)
        #expect(fields == [
            "colour",
            "steps[0].expect",                     // nothing earlier to compare with
            "steps[1].perturb.disk",               // unknown disk
            "steps[2].perturb.bus",                // not a bus
            "steps[3].perturb.serial",             // a character libvirt refuses
            "steps[4].expect.against",             // names a later observation
            "steps[5].expect.changed[0]",          // probe cannot see by-id
            "steps[5].expect.changed[1]",          // nor fstab
            "steps[5].expect.changed[2]",          // no such disk
            "steps[6].observe",                    // the name is taken
            "steps[7].migrate.live",               // live needs a running guest
            "steps[8]",                            // no step kind
        ], "\(e)")
        #expect(e.problems[2].fix.contains("root, data, logs"))
        #expect(e.problems[6].message.contains("probe cannot see disk.data.byid"))
    }

    @Test func aBadVMSpecIsReportedUnderVM() throws {
        let f = try SpecFolder()
        try f.write("vm2.json", #"{"name": "vm2", "boot": {"kernel": "vmlinuz"}, "disks": [{"name": "d", "source": "missing.qcow2", "serail": "x"}]}"#)
        try f.write("scenario.json", #"{"scenario": "s", "vm": "vm2.json", "steps": [{"observe": "a"}]}"#)
        let e = try #require(throws: ScenarioError.self) { try ScenarioParser.load(path: f.path) }
        #expect(e.problems.map(\.field) == ["vm.disks[0].serail"], "\(e)")
    }

    @Test func anInlineSpecAndTheObserveOverride() throws {
        let f = try SpecFolder()
        try f.write("scenario.json", """
        {"scenario": "inline", "observe": "guest", "settle": 5,
         "vm": {"name": "vm3", "boot": {"kernel": "vmlinuz"}, "disks": [{"name": "root", "source": "root.qcow2"}]},
         "steps": [{"observe": "a"}, {"observe": "b", "expect": {"same": ["disk.root"]}}]}
        """)
        let l = try ScenarioParser.load(path: f.path, observeOverride: .probe)
        #expect(l.spec.name == "vm3")
        #expect(l.spec.disks.map(\.source) == ["\(f.dir)/root.qcow2"])
        #expect(l.scenario.observe == .probe)
        #expect(l.scenario.settle == 5)
    }

    @Test(arguments: [
        (#"[1, 2]"#, "(file)"),
        (#"{"scenario": "x", "vm": "vm.json"}"#, "steps"),
        (#"{"scenario": "x y", "vm": "vm.json", "steps": [{"observe": "a"}]}"#, "scenario"),
        (#"{"scenario": "x", "vm": "vm.json", "steps": [{"observe": "a"}, {"reboot": {}}]}"#, "steps[1]"),
        (#"{"scenario": "x", "vm": "vm.json", "steps": [{"perturb": {"disk": "data"}}]}"#, "steps[0].perturb"),
        (#"{"scenario": "x", "vm": "vm.json", "observe": "boot-inspect", "steps": [{"observe": "a"}, {"observe": "b", "expect": {"same": ["disk.data"]}}]}"#, "steps[1].expect.same[0]"),
        (#"{"scenario": "x", "vm": "vm.json", "steps": [{"observe": "a"}, {"perturb": {"smbios": {"uuid": "not-a-uuid"}}}]}"#, "steps[1].perturb.smbios.uuid"),
        (#"{"scenario": "x", "vm": "vm.json", "steps": [{"observe": "a"}, {"observe": "b", "expect": {"changed": ["smbios"], "same": ["smbios"]}}]}"#, "steps[1].expect"),
    ])
    func oneProblem(json: String, field: String) throws {
        let f = try SpecFolder()
        try f.write("scenario.json", json)
        let e = try #require(throws: ScenarioError.self) { try ScenarioParser.load(path: f.path) }
        #expect(e.problems.first?.field == field, "\(e)")
    }
}

