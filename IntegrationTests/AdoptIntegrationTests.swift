import DomainXML
import Foundation
import Libvirt
import Testing

/// `vmserial adopt` on domains virt-install defined (Debian's virtinst), against the real daemon.
extension Integration {
@Suite
final class AdoptIntegrationTests {
    let box: Sandbox

    init() throws { box = try Sandbox() }

    /// `virt-install --print-xml` (libvirt's own client tools, not vmserial) for a domain with
    /// `disks` (`--disk` values without the path: `bus=…[,serial=…]`), each a fresh qcow2.
    func virtInstall(_ vm: String, disks: [String], _ extra: [String], osinfo: String = "detect=on,require=off") throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/virt-install") else {
            Issue.record("virt-install is not installed (Debian package virtinst; scripts/host-setup.sh installs it)")
            throw CancellationError()
        }
        var args = ["--print-xml", "--name", vm, "--virt-type", "qemu", "--memory", "256", "--vcpus", "1",
                    "--osinfo", osinfo, "--import"]
        for (i, d) in disks.enumerated() {
            args += ["--disk", "path=\(try box.disk("\(vm)-\(i).qcow2")),format=qcow2,\(d)"]
        }
        let r = try run("virt-install", args + extra)
        #expect(r.status == 0, "virt-install: \(r.all)")
        return r.stdout
    }

    /// libvirt 9 has no NVMe disk bus (virtinst writes bus='nvme', libvirt refuses it): the NVMe
    /// disk is added as vmserial's launch makes one, a virtio disk whose QEMU frontend a
    /// `<qemu:override>` turns into an nvme controller.
    func withNVMe(_ xml: String, file: String, target: String, serial: String? = nil) -> String {
        let disk = """
            <disk type="file" device="disk"><driver name="qemu" type="qcow2"/><source file="\(file)"/>
              <target dev="\(target)" bus="virtio"/>\(serial.map { "<serial>\($0)</serial>" } ?? "")<alias name="ua-nvme-\(target)"/></disk>
            """
        let override = """
            <qemu:override><qemu:device alias="ua-nvme-\(target)"><qemu:frontend>
              <qemu:property name="driver" type="string" value="nvme"/></qemu:frontend></qemu:device></qemu:override>
            """
        return xml.replacingOccurrences(of: "<domain type=\"qemu\">", with: "<domain type=\"qemu\" xmlns:qemu=\"http://libvirt.org/schemas/domain/qemu/1.0\">")
            .replacingOccurrences(of: "</devices>", with: disk + "</devices>" + override)
    }

    func define(_ xml: String) throws {
        _ = try box.connection.defineDomain(xml: xml)
    }

    /// The persistent definition as libvirt gives it, secrets included (what adopt writes back).
    func dumpxml(_ vm: String) throws -> String {
        try box.connection.lookupDomain(name: vm).xmlDesc(inactive: true, secure: true)
    }

    /// `after` with what adopt reported removed: the serials of `targets` and vmserial's metadata.
    func withoutReported(_ after: XElement, serialsOf targets: Set<String>, hadMetadata: Bool) -> XElement {
        var r = after
        r.children = r.children.compactMap { node in
            guard case var .element(e) = node else { return node }
            if e.name == "metadata" {
                e.children.removeAll { if case let .element(c) = $0 { SerialMetadata(metadata: [c]) != nil } else { false } }
                if e.children.isEmpty && !hadMetadata { return nil }
            }
            if e.name == "devices" {
                e.children = e.children.map { n in
                    guard case var .element(d) = n, d.name == "disk", targets.contains(d.first("target")?[attribute: "dev"] ?? "") else { return n }
                    d.children.removeAll { if case let .element(c) = $0 { c.name == "serial" } else { false } }
                    return .element(d)
                }
            }
            return .element(e)
        }
        return r
    }

    @Test("a virt-install domain with graphics, network, USB, channels, a filesystem, RNG (and a TPM where swtpm is installed) differs after adopt only in what adopt reports; migrate and spec work on it")
    func roundTrip() throws {
        let vm = box.name("rt")
        let hasSWTPM = FileManager.default.isExecutableFile(atPath: "/usr/bin/swtpm")
        var extra = ["--graphics", "vnc,password=s3cret", "--network", "network=default", "--controller", "usb,model=qemu-xhci",
                     "--input", "tablet,bus=usb", "--channel", "unix,target.type=virtio,name=org.qemu.guest_agent.0",
                     "--filesystem", "\(box.dir),share", "--rng", "/dev/urandom", "--controller", "scsi,model=virtio-scsi"]
        if hasSWTPM { extra += ["--tpm", "emulator"] }
        // debian11: virt-install writes libosinfo's <metadata>, which must survive beside vmserial's.
        let xml = try virtInstall(vm, disks: ["bus=virtio,serial=RT-VIRTIO-1", "bus=scsi", "bus=sata,serial=RT-SATA.1"], extra, osinfo: "debian11")
        try define(withNVMe(xml, file: try box.disk("\(vm)-nvme.qcow2"), target: "vdb"))
        let before = try dumpxml(vm)

        // The dry run shows the diff and writes nothing.
        let dry = try box.vmserial("adopt", "--domain", vm, "--generate-missing", "--dry-run")
        #expect(dry.status == 0, "\(dry.all)")
        #expect(dry.stdout.hasPrefix("--- "), "\(dry.stdout)")
        #expect(dry.stdout.split(separator: "\n").filter { $0.hasPrefix("+      <serial>") }.count == 2, "\(dry.stdout)")
        #expect(!dry.stdout.contains("s3cret"), "the diff never shows a password")
        #expect(try dumpxml(vm) == before)
        #expect(try box.registrySnapshot() == "", "a dry run creates no registry")

        let r = try box.vmserial("adopt", "--domain", vm, "--generate-missing", "--json")
        #expect(r.status == 0, "\(r.all)")
        let out = try box.json(r)
        #expect(out["action"] as? String == "redefined")
        let changes = (out["changes"] as? [String]) ?? []
        let added = Set(changes.compactMap { c -> String? in
            guard c.hasPrefix("disk "), c.contains(": serial ") else { return nil }
            return String(c.dropFirst(5).prefix { $0 != " " })
        })
        #expect(added == ["sda", "vdb"], "the scsi and the nvme disk had no serial: \(changes)")
        #expect(changes.contains { $0.hasPrefix("metadata: ") })
        #expect(changes.count == 3, "\(changes)")

        // libvirt's own definition, read back: equal to the one before, but for the reported changes.
        let afterXML = try dumpxml(vm)
        let beforeTree = try XElement.parse(before)
        #expect(withoutReported(try XElement.parse(afterXML), serialsOf: added, hadMetadata: beforeTree.first("metadata") != nil) == beforeTree,
                "before:\n\(before)\nafter:\n\(afterXML)")
        #expect(afterXML.contains("passwd='s3cret'"), "the VNC password survives the redefinition")
        #expect(before.contains("http://debian.org/debian/11") && afterXML.contains("http://debian.org/debian/11"), "libosinfo's metadata is kept")
        if hasSWTPM { #expect(afterXML.contains("<tpm ")) }

        // The registry: the serials virt-install gave, as they were; generated ones for the rest.
        let serials = try box.json(try box.vmserial("serials", "--domain", vm, "--json"))
        #expect(serials.disk("vda")?["serial"] as? String == "RT-VIRTIO-1")
        #expect(serials.disk("sdb")?["serial"] as? String == "RT-SATA.1")
        #expect(serials.disk("vda")?["generated"] as? Bool == false)
        for t in ["sda", "vdb"] {
            let s = serials.disk(t)?["serial"] as? String ?? ""
            #expect(s.count == 20 && serials.disk(t)?["generated"] as? Bool == true, "\(t): \(s)")
        }
        #expect(serials.disk("vdb")?["bus"] as? String == "nvme")
        #expect(serials.disk("sda")?["volume"] as? String == "\(vm)/sda")
        #expect(serials["smbiosMode"] as? String == "none", "--smbios keep on a domain without <sysinfo>")

        // Adopting again finds nothing to change.
        let again = try box.json(try box.vmserial("adopt", "--domain", vm, "--generate-missing", "--json"))
        #expect(again["action"] as? String == "registered")
        #expect(try dumpxml(vm) == afterXML)

        // migrate works on it as on a launched domain: the serial follows the volume.
        let target = box.dir + "/moved.qcow2"
        let m = try box.vmserial("migrate", "--domain", vm, "--disk", "sda", "--to", target)
        #expect(m.status == 0, "\(m.all)")
        let moved = try box.json(try box.vmserial("serials", "--domain", vm, "--json"))
        #expect(moved.disk("sda")?["source"] as? String == target)
        #expect(moved.disk("sda")?["serial"] as? String == serials.disk("sda")?["serial"] as? String)
        #expect(try box.definition(vm).devices.disks.first { $0.targetDev == "sda" }?.source == target)

        // spec --domain: a spec launch accepts, giving the same identity.
        let specFile = box.dir + "/\(vm)-spec.json"
        let s = try box.vmserial("spec", "--domain", vm, "--output", specFile)
        #expect(s.status == 0, "\(s.all)")
        #expect(s.stderr.contains("graphics") && s.stderr.contains("interface"), "what the spec cannot hold is said: \(s.stderr)")
        let l = try box.json(try box.vmserial("launch", specFile, "--dry-run", "--json"))
        let a = try #require(l["assignment"] as? [String: Any])
        #expect(a["uuid"] as? String == serials["uuid"] as? String)
        for t in ["vda", "sda", "sdb", "vdb"] {
            #expect(a.disk(t)?["serial"] as? String == moved.disk(t)?["serial"] as? String, "disk \(t)")
        }
    }

    @Test("verify passes on an adopted virt-install domain with disks on virtio, scsi, sata and nvme, with and without serials")
    func verifyAfterAdopt() throws {
        let vm = box.name("verify")
        let xml = try virtInstall(vm, disks: ["bus=virtio", "bus=scsi,serial=V-SCSI-LONGER-THAN-TWENTY-CHARS", "bus=sata,serial=V-SATA-1"], [
            "--controller", "scsi,model=virtio-scsi", "--graphics", "vnc", "--network", "user",
            "--boot", "kernel=\(packageRoot)/images/build/probe-vmlinuz,initrd=\(packageRoot)/images/build/probe-initrd.img,kernel_args=console=ttyS0 quiet",
        ])
        try define(withNVMe(xml, file: try box.disk("\(vm)-nvme.qcow2"), target: "vdb", serial: "V-NVME-1"))
        let r = try box.vmserial("adopt", "--domain", vm, "--generate-missing", "--smbios", "unique", "--json")
        #expect(r.status == 0, "\(r.all)")
        let assigned = try box.json(try box.vmserial("serials", "--domain", vm, "--json"))
        let uuid = try #require(assigned["uuid"] as? String)
        #expect(try uuid == box.definition(vm).uuid)

        // The run folder is kept (a folder of this test's own) to ask libvirt what QEMU got.
        let runs = box.dir + "/runs"
        try FileManager.default.createDirectory(atPath: runs, withIntermediateDirectories: true)
        chmod(runs, 0o755)
        let v = try run(try vmserialBinary(), ["verify", "--domain", vm, "--json", "--keep"],
                        env: ["VMSERIAL_REGISTRY": box.registry, "LIBVIRT_DEFAULT_URI": libvirtURI, "VMSERIAL_ACCEL": "tcg", "VMSERIAL_RUN_DIR": runs])
        #expect(v.status == 0, "\(v.all)")
        let seen = checks(try box.json(v))
        #expect(seen.first { $0.what == "smbios serial" }?.seen == uuid, "--smbios unique: the guest sees the UUID")
        #expect(seen.first { $0.what == "smbios uuid" }?.seen == uuid)
        // The serials virt-install gave, as the guest reads them; the generated one as registered.
        let want = ["sda": "V-SCSI-LONGER-THAN-TWENTY-CHARS", "sdb": "V-SATA-1", "vdb": "V-NVME-1",
                    "vda": assigned.disk("vda")?["serial"] as? String ?? "?"]
        for (target, serial) in want {
            #expect(seen.first { $0.what.hasPrefix("disk \(target) ") }?.seen == serial, "disk \(target)")
        }
        #expect(seen.filter { !$0.ok }.isEmpty, "\(seen.filter { !$0.ok })")

        // The probe booted without the VNC display, the NIC, the USB controller and the balloon
        // (libvirt adds the last two to a domain that does not say "none"): libvirt's QEMU
        // driver says which command line it gives QEMU for the probe's transient domain.
        let kept = try FileManager.default.contentsOfDirectory(atPath: runs).map { runs + "/" + $0 }
        try #require(kept.count == 1, "one kept folder: \(kept)")
        defer { try? FileManager.default.removeItem(atPath: kept[0]) }
        let argv = try run("virsh", ["-c", libvirtURI, "domxml-to-native", "qemu-argv", kept[0] + "/domain-1.xml"])
        #expect(argv.status == 0, "\(argv.all)")
        let drivers = argv.stdout.components(separatedBy: "\"driver\":\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        #expect(drivers.contains("virtio-blk-pci"), "the disks are there: \(drivers)")
        let unused = drivers.filter { d in ["usb", "xhci", "ehci", "uhci", "balloon", "net", "vga", "qxl"].contains { d.contains($0) } }
        #expect(unused.isEmpty, "devices the probe does not use: \(unused)")
        #expect(!argv.stdout.contains("-vnc") && !argv.stdout.contains("-netdev"), "\(argv.stdout)")
        for serial in want.values { #expect(argv.stdout.contains(serial), "disk serial \(serial) in \(argv.stdout)") }
        #expect(argv.stdout.contains("serial=\(uuid)"), "the SMBIOS serial: \(argv.stdout)")

        // inspect reads the adopted domain's disks through libguestfs (no OS on them: nothing to judge).
        let i = try box.vmserial("inspect", "--domain", vm, "--json")
        #expect(i.status == 0, "\(i.all)")
        let inspected = try box.json(i).disks
        for (target, serial) in want {
            #expect(inspected.first { $0["target"] as? String == target }?["serial"] as? String == serial, "inspect: disk \(target)")
        }
    }

    @Test("adopting a domain vmserial launched changes nothing: same names, volumes, serials, no redefinition")
    func adoptLaunched() throws {
        let vm = box.name("launched")
        #expect(try box.vmserial("launch", try box.spec(vm, disks: LaunchIntegrationTests.threeDisks), "--no-start").status == 0)
        let serials = try box.vmserial("serials", "--domain", vm, "--json").stdout
        let xml = try dumpxml(vm)
        let r = try box.vmserial("adopt", "--domain", vm, "--json")
        #expect(r.status == 0, "\(r.all)")
        #expect(try box.json(r)["action"] as? String == "registered", "\(r.stdout)")
        #expect(try box.vmserial("serials", "--domain", vm, "--json").stdout == serials)
        #expect(try dumpxml(vm) == xml)
    }

    @Test("bad cases write nothing: no such domain, a serial another volume holds, serials the bus cannot carry, a network disk")
    func refusals() throws {
        // No such domain: bad input, and no registry file is made.
        let none = try box.vmserial("adopt", "--domain", "it-no-such-\(box.tag)")
        #expect(none.status == 2)
        #expect(none.stderr.contains("has no domain it-no-such-\(box.tag)"), "\(none.stderr)")
        #expect(try box.registrySnapshot() == "")

        let holder = box.name("holder")
        try define(try virtInstall(holder, disks: ["bus=virtio,serial=HELD-1"], ["--graphics", "none", "--network", "none"]))
        #expect(try box.vmserial("adopt", "--domain", holder).status == 0)
        let registry = try box.registrySnapshot()

        func refused(_ vm: String, _ expected: [String]) throws {
            let before = try dumpxml(vm)
            let r = try box.vmserial("adopt", "--domain", vm, "--generate-missing")
            #expect(r.status == 2, "\(r.all)")
            for e in expected { #expect(r.stderr.contains(e), "\(e) in: \(r.stderr)") }
            #expect(try dumpxml(vm) == before, "the definition is unchanged")
            #expect(try box.registrySnapshot() == registry, "the registry is unchanged")
        }

        let dup = box.name("dup")
        try define(try virtInstall(dup, disks: ["bus=virtio", "bus=sata,serial=HELD-1"], ["--graphics", "none", "--network", "none"]))
        try refused(dup, ["serial HELD-1", "already held by volume \(holder)/vda"])

        let long = box.name("long")
        try define(try virtInstall(long, disks: ["bus=virtio,serial=ABCDEFGHIJKLMNOPQRSTU", "bus=sata,serial=HAS SPACE"],
                                   ["--graphics", "none", "--network", "none"]))
        try refused(long, ["disk vda (virtio) has serial 'ABCDEFGHIJKLMNOPQRSTU' of 21 characters", "at most 20",
                           "disk sda (sata) has serial 'HAS SPACE'", "never rewrites", "2 problems"])

        let net = box.name("net")
        let netXML = try virtInstall(net, disks: ["bus=virtio"], ["--graphics", "none", "--network", "none"])
        try define(netXML.replacingOccurrences(of: "</devices>", with: """
            <disk type="network" device="disk"><driver name="qemu" type="raw"/>
              <source protocol="nbd" name="export"><host name="127.0.0.1" port="10809"/></source>
              <target dev="vdc" bus="virtio"/></disk></devices>
            """))
        try refused(net, ["disk vdc is type='network' (protocol nbd)", "file and block disks only"])
    }

    @Test("a scenario on a domain vmserial does not know runs on an adopted copy; the domain, its images and the registry are untouched")
    func scenarioOnDomain() throws {
        let vm = box.name("scn")
        let xml = try virtInstall(vm, disks: ["bus=virtio,serial=SCN-ROOT", "bus=scsi"], [
            "--controller", "scsi,model=virtio-scsi", "--graphics", "vnc", "--network", "user",
            "--boot", "kernel=\(packageRoot)/images/build/probe-vmlinuz,initrd=\(packageRoot)/images/build/probe-initrd.img,kernel_args=console=ttyS0 quiet",
        ])
        try define(xml)
        let before = try dumpxml(vm)
        let images = try box.definition(vm).devices.disks.compactMap(\.source)
        let sums = try images.map(box.sha256)
        try box.write("on-domain.json", """
        {"scenario": "on-domain", "vm": {"domain": "\(vm)"}, "observe": "probe", "steps": [
          {"observe": "before"},
          {"perturb": {"disk": "vda", "serial": null}},
          {"observe": "after", "expect": {"against": "before", "changed": ["disk.vda.serial"], "same": ["smbios", "disk.sda"]}},
          {"restore": {}}
        ]}
        """)
        let runDir = box.dir + "/run"
        try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        let r = try run(try vmserialBinary(), ["scenario", "run", box.dir + "/on-domain.json", "--json"],
                        env: ["LIBVIRT_DEFAULT_URI": libvirtURI, "VMSERIAL_ACCEL": "tcg", "VMSERIAL_RUN_DIR": runDir, "VMSERIAL_REGISTRY": box.registry])
        #expect(r.status == 0, "\(r.all)")
        let steps = try box.json(r)["steps"].flatMap { $0 as? [[String: Any]] } ?? []
        let facts = { (name: String) in (steps.first { $0["name"] as? String == name }?["facts"] as? [String: String]) ?? [:] }
        #expect(facts("before")["disk.vda.serial"] == "SCN-ROOT", "the copy shows the serial virt-install gave: \(facts("before"))")
        #expect(facts("after")["disk.vda.serial"] == "(none)", "the serial dropped behind the registry's back: \(facts("after"))")
        #expect(steps.last?["kind"] as? String == "restore" && steps.last?["ok"] as? Bool == true, "\(steps.last ?? [:])")
        // The user's world: the domain as it was, its images byte for byte, no registry written.
        #expect(try dumpxml(vm) == before)
        #expect(try images.map(box.sha256) == sums)
        #expect(try box.registrySnapshot() == "")
        #expect(try box.connection.listDomainNames().filter { $0.hasPrefix("\(vm)-scn-") }.isEmpty, "the copy is gone")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: runDir)) ?? []).isEmpty)
    }
}
}
