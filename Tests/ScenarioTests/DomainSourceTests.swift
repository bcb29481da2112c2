import Foundation
import Testing
import VMSpec
@testable import Scenario

/// `"vm": {"domain": NAME}`: the parser takes the domain's disks from the reader it is given.
@Suite struct DomainSourceTests {
    /// A stand-in for libvirt: the domain `web1` with disks named by target.
    func reader(_ f: SpecFolder) -> ScenarioParser.DomainSpecReader {
        let dir = f.dir
        return { name in
            guard name == "web1" else { throw SpecError.unreadable(path: "domain \(name)", reason: "libvirt has no domain \(name)") }
            let spec = VMSpec(name: "web1", boot: .firmware(.bios), generateDiskSerials: false, disks: [
                .init(name: "vda", source: "\(dir)/root.qcow2", format: .qcow2, bus: .virtio, target: "vda"),
                .init(name: "sda", source: "\(dir)/data.qcow2", format: .qcow2, bus: .sata, target: "sda"),
            ])
            return try SpecValidator.resolve(spec, specPath: nil, baseDirectory: dir)
        }
    }

    func scenario(_ vm: String, disk: String = "sda") -> String {
        """
        {"scenario": "on-web1", "vm": \(vm), "observe": "probe", "steps": [
          {"observe": "before"},
          {"perturb": {"disk": "\(disk)", "serial": null}},
          {"observe": "after", "expect": {"against": "before", "changed": ["disk.\(disk).serial"], "same": ["smbios"]}},
          {"restore": {}}
        ]}
        """
    }

    @Test("a domain's disks are the scenario's, named by target")
    func domainSource() throws {
        let f = try SpecFolder()
        try f.write("scenario.json", scenario(#"{"domain": "web1"}"#))
        let l = try ScenarioParser.load(path: f.path, domainSpec: reader(f))
        #expect(l.scenario.vm == .domain("web1"))
        #expect(l.disks == ["vda", "sda"])
        #expect(l.spec.name == "web1")
    }

    @Test("an unknown disk, an unknown domain, a domain beside spec keys, no libvirt: each reported under vm")
    func domainProblems() throws {
        let f = try SpecFolder()
        func problems(_ text: String, reader r: ScenarioParser.DomainSpecReader?) throws -> [String] {
            try f.write("scenario.json", text)
            let e = try #require(throws: ScenarioError.self) { try ScenarioParser.load(path: f.path, domainSpec: r) }
            return e.problems.map { "\($0.field): \($0.message)" }
        }
        #expect(try problems(scenario(#"{"domain": "web1"}"#, disk: "vdz"), reader: reader(f)).contains { $0.hasPrefix("steps[1].perturb.disk") })
        #expect(try problems(scenario(#"{"domain": "nope"}"#), reader: reader(f)).contains { $0.hasPrefix("vm") && $0.contains("no domain nope") })
        #expect(try problems(scenario(#"{"domain": "web1", "name": "x"}"#), reader: reader(f)).contains { $0.hasPrefix("vm:") && $0.contains("stands alone") })
        #expect(try problems(scenario(#"{"domain": "web1"}"#), reader: nil).contains { $0.hasPrefix("vm.domain") })
        #expect(try problems(scenario(#"{"domain": 3}"#), reader: reader(f)).contains { $0.hasPrefix("vm.domain") })
    }
}
