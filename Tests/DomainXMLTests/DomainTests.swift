import Testing
@testable import DomainXML

/// Every element of a document as "path [attributes] text", sorted: two documents with the
/// same lines say the same things, whatever order their elements come in.
func facts(_ e: XElement, path: String = "") -> [String] {
    let here = path + "/" + e.name
    let attrs = e.attributes.map { "\($0.name)=\($0.value)" }.sorted().joined(separator: ",")
    var out = ["\(here) [\(attrs)] \(e.text?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")"]
    for c in e.elements { out += facts(c, path: here) }
    return out.sorted()
}

/// What `rendered` lacks of `original`, and what it has that `original` had not.
func difference(original: String, rendered: String) throws -> (lost: [String], added: [String]) {
    let before = facts(try XElement.parse(original)), after = facts(try XElement.parse(rendered))
    return (before.filter { !after.contains($0) }, after.filter { !before.contains($0) })
}

@Suite("Domain from libvirt's XML")
struct DomainTests {
    @Test func topLevelFields() throws {
        let d = try Domain(xml: libvirtDump)
        #expect(d.type == "qemu")
        #expect(d.name == "vm1")
        #expect(d.uuid == "5f0c6c3e-8d1a-4b7e-9a51-0f3c2b6d7e10")
        #expect(d.memoryKiB == 524_288)
        #expect(d.vcpus == 1)
        #expect(d.features == ["acpi", "apic"])
        #expect(d.cpu?.first("model")?.text == "qemu64")
        #expect(d.onPoweroff == "destroy")
        #expect(d.onReboot == "restart")
        #expect(d.onCrash == "destroy")
        #expect(d.otherAttributes.map(\.name).sorted() == ["id", "xmlns:qemu"])
        #expect(d.other.map(\.name) == ["currentMemory", "resource", "clock", "seclabel"])
        #expect(d.metadata.map(\.name) == ["vms:instance"])
    }

    @Test func osFields() throws {
        let os = try Domain(xml: libvirtDump).os
        #expect(os.arch == "x86_64")
        #expect(os.machine == "pc-i440fx-7.2")
        #expect(os.kernel == "/var/lib/vmserial/boot/vmlinuz-6.1.0-13-amd64")
        #expect(os.initrd == "/var/lib/vmserial/boot/probe.cpio.gz")
        #expect(os.cmdline == "console=ttyS0 vmserial.disks=3")
        #expect(os.bootDevices == ["hd"])
        #expect(os.smbiosMode == "sysinfo")
        #expect(os.firmware == nil)
    }

    @Test func sysinfoEntries() throws {
        let s = try #require(try Domain(xml: libvirtDump).sysinfo)
        #expect(s.system.map(\.name) == ["serial", "uuid"])
        #expect(s[system: "serial"] == "5f0c6c3e-8d1a-4b7e-9a51-0f3c2b6d7e10")
        #expect(s[system: "uuid"] == "5f0c6c3e-8d1a-4b7e-9a51-0f3c2b6d7e10")
        #expect(s[system: "manufacturer"] == nil)
    }

    @Test func disks() throws {
        let d = try Domain(xml: libvirtDump)
        #expect(d.devices.emulator == "/usr/bin/qemu-system-x86_64")
        let disks = d.devices.disks
        #expect(disks.map(\.targetDev) == ["vda", "sda", "sdb", "vdb"])
        #expect(disks.map(\.targetBus) == ["virtio", "scsi", "sata", "virtio"])
        #expect(disks.map(\.serial) == ["VS0A1B2C3D4E5F6G7H8J", "MANUAL-0001", "VSZZ99YY88XX77WW66VV", "VSNVME0000000000000A"])
        #expect(disks.map(\.source) == ["/srv/vms/vm1/root.qcow2", "/srv/vms/vm1/data.qcow2", "/srv/shared/team-share.img",
                                         "/srv/vms/vm1/fast,1.raw"])
        #expect(disks.map(\.driverType) == ["qcow2", "qcow2", "raw", "raw"])
        #expect(disks.map(\.shareable) == [false, false, true, false])
        #expect(disks.map(\.alias) == ["virtio-disk0", "scsi0-0-0-0", "sata0-0-1", "ua-vmserial-nvme-vdb"])
        #expect(disks[1].driverOther == [.init("cache", "none")])
        #expect(disks[0].sourceOther == [.init("index", "3")])
        #expect(disks[0].other.map(\.name) == ["backingStore"])

        let pci = try #require(disks[0].address)
        #expect(pci.type == "pci")
        #expect(pci.number("domain") == 0)
        #expect(pci.number("bus") == 0)
        #expect(pci.number("slot") == 4)
        #expect(pci.number("function") == 0)
        let drive = try #require(disks[2].address)
        #expect(drive.type == "drive")
        #expect(drive.number("controller") == 0)
        #expect(drive.number("unit") == 1)
        #expect(drive.number("nonexistent") == nil)
    }

    @Test func controllers() throws {
        let c = try Domain(xml: libvirtDump).devices.controllers
        #expect(c.map(\.type) == ["usb", "pci", "scsi", "sata", "ide"])
        #expect(c.map(\.model) == ["piix3-uhci", "pci-root", "virtio-scsi", nil, nil])
        #expect(c.map(\.index) == [0, 0, 0, 0, 0])
        #expect(c[2].address?.number("slot") == 5)
        #expect(c[3].address?.number("slot") == 6)
        #expect(c[0].address?.number("function") == 2)
        #expect(c[1].address == nil)
        #expect(c[2].other.map(\.name) == ["alias"])
    }

    @Test func otherDevicesAreKeptInOrder() throws {
        let d = try Domain(xml: libvirtDump)
        #expect(d.devices.other.map(\.name) == ["serial", "console", "input", "input", "audio", "video", "memballoon"])
        #expect(d.devices.other.first?.first("source")?[attribute: "path"] == "/dev/pts/3")
    }

    @Test func renderThenParseGivesAnEqualDomain() throws {
        let d = try Domain(xml: libvirtDump)
        let again = try Domain(xml: d.xml())
        #expect(again == d)
    }

    /// Nothing libvirt said is lost: every element and attribute of the dump is in the rendering.
    @Test func renderLosesNothingLibvirtSaid() throws {
        let (lost, added) = try difference(original: libvirtDump, rendered: try Domain(xml: libvirtDump).xml())
        #expect(lost == [])
        #expect(added == [])
    }

    /// Attributes come back in libvirt's order, as the dump has them.
    @Test func unknownElementsSurviveTheRoundTrip() throws {
        let xml = try Domain(xml: libvirtDump).xml()
        for fragment in [
            "<resource>", "<partition>/machine</partition>", "<seclabel type='dynamic' model='dac' relabel='yes'>",
            "<label>+64055:+64055</label>", "<memballoon model='virtio'>", "<alias name='balloon0'/>",
            "<alias name='virtio-disk0'/>", "<alias name='scsi0'/>", "<backingStore/>", "<clock offset='utc'/>",
            "<currentMemory unit='KiB'>524288</currentMemory>", "<model fallback='forbid'>qemu64</model>",
            "cache='none'", "index='3'", "<audio id='1' type='none'/>",
            "<address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>",
            "<address type='drive' controller='0' bus='0' target='0' unit='1'/>",
        ] {
            #expect(xml.contains(fragment), "rendering lost \(fragment)")
        }
    }

    @Test func vcpuAttributesAndDetailedFeaturesSurvive() throws {
        let xml = """
            <domain type='kvm'>
              <name>f</name>
              <memory unit='KiB'>1048576</memory>
              <vcpu placement='static' current='1'>4</vcpu>
              <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
              <features>
                <acpi/>
                <apic/>
                <hyperv mode='custom'>
                  <relaxed state='on'/>
                  <spinlocks state='on' retries='8191'/>
                </hyperv>
                <vmport state='off'/>
              </features>
              <devices/>
            </domain>
            """
        let d = try Domain(xml: xml)
        #expect(d.vcpus == 4)
        #expect(d.features == ["acpi", "apic", "hyperv", "vmport"])
        let (lost, added) = try difference(original: xml, rendered: d.xml())
        #expect(lost == [])
        #expect(added == [])
        // Dropping a feature drops its details too.
        var without = d
        without.features.removeAll { $0 == "vmport" }
        #expect(!without.xml().contains("vmport"))
        #expect(without.xml().contains("<spinlocks state='on' retries='8191'/>"))
    }

    @Test func qemuCommandLine() throws {
        let d = try Domain(xml: libvirtDump)
        #expect(d.qemuArgs == ["-global", "kvm-pit.lost_tick_policy=delay", "-s"])
        let xml = d.xml()
        #expect(xml.contains("xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"))
        #expect(xml.contains("<qemu:arg value='kvm-pit.lost_tick_policy=delay'/>"))
    }

    @Test func memoryUnits() throws {
        func memory(_ e: String) throws -> UInt64 {
            try Domain(xml: "<domain type='kvm'><name>m</name>\(e)</domain>").memoryKiB
        }
        #expect(try memory("<memory unit='KiB'>1024</memory>") == 1024)
        #expect(try memory("<memory>2048</memory>") == 2048)
        #expect(try memory("<memory unit='MiB'>512</memory>") == 524_288)
        #expect(try memory("<memory unit='GiB'>2</memory>") == 2_097_152)
        #expect(try memory("<memory unit='bytes'>1048576</memory>") == 1024)
    }

    @Test func notADomain() {
        #expect(throws: DomainXMLError.self) { try Domain(xml: "<network><name>default</name></network>") }
        #expect(throws: DomainXMLError.self) { try Domain(xml: "<domain type='kvm'/>") }
    }

    @Test(arguments: [("0x1e", 30), ("30", 30), ("0x00", 0), ("0xg", nil), ("", nil)] as [(String, Int?)])
    func addressNumbers(value: String, number: Int?) {
        #expect(Address(type: "pci", [("slot", value)]).number("slot") == number)
    }

    @Test func addressConstructors() {
        let p = Address.pci(bus: 2, slot: 0x1e, function: 1)
        #expect(p.element().rendered() == "<address type='pci' domain='0x0000' bus='0x02' slot='0x1e' function='0x1'/>\n")
        let d = Address.drive(controller: 1, unit: 3)
        #expect(d.element().rendered() == "<address type='drive' controller='1' bus='0' target='0' unit='3'/>\n")
    }
}
