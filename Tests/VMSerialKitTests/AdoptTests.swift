import DomainXML
import Foundation
import Libvirt
import SerialPolicy
import SerialRegistry
import Testing
import VMSpec
@testable import VMSerialKit

/// `vmserial adopt`'s pure parts: what it reads from a definition, what it writes back, its
/// diff, the spec made from a domain; and its transaction on libvirt's in-memory driver.
@Suite struct AdoptTests {
    static let uuid = "b864606a-a0fb-4251-a50d-1a9968b9f136"

    /// `virt-install --print-xml --virt-type qemu --import --osinfo detect=on,require=off` (virtinst
    /// 4.1.0) with a virtio disk with a serial, a scsi and a sata disk without, a cdrom, and an
    /// NVMe disk as vmserial makes one on libvirt 9 (a virtio disk whose frontend `<qemu:override>`
    /// makes nvme), as `virsh dumpxml --inactive` gives it back.
    static func definition(serial: String = "ABC1", extraDisk: String = "", smbios: String = "", sysinfo: String = "") -> String {
        """
        <domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
          <name>web1</name>
          <uuid>\(uuid)</uuid>
          <metadata>
            <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
              <libosinfo:os id="http://libosinfo.org/linux/2022"/>
            </libosinfo:libosinfo>
          </metadata>
          <memory unit='KiB'>262144</memory>
          <currentMemory unit='KiB'>262144</currentMemory>
          <vcpu placement='static'>1</vcpu>
          \(sysinfo)
          <os>
            <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
            <boot dev='hd'/>
            \(smbios)
          </os>
          <features>
            <acpi/>
            <apic/>
            <vmport state='off'/>
          </features>
          <clock offset='utc'>
            <timer name='rtc' tickpolicy='catchup'/>
          </clock>
          <devices>
            <emulator>/usr/bin/qemu-system-x86_64</emulator>
            <disk type='file' device='disk'>
              <driver name='qemu' type='qcow2' discard='unmap'/>
              <source file='/var/lib/libvirt/images/web1-a.qcow2'/>
              <target dev='vda' bus='virtio'/>
              <serial>\(serial)</serial>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
            </disk>
            <disk type='file' device='disk'>
              <driver name='qemu' type='qcow2'/>
              <source file='/var/lib/libvirt/images/web1-b.qcow2'/>
              <target dev='sda' bus='scsi'/>
              <address type='drive' controller='0' bus='0' target='0' unit='0'/>
            </disk>
            <disk type='block' device='disk'>
              <driver name='qemu' type='raw'/>
              <source dev='/dev/vg0/web1-c'/>
              <target dev='sdb' bus='sata'/>
              <address type='drive' controller='0' bus='0' target='0' unit='1'/>
            </disk>
            <disk type='file' device='disk'>
              <driver name='qemu' type='raw'/>
              <source file='/var/lib/libvirt/images/web1-d.img'/>
              <target dev='vdb' bus='virtio'/>
              <alias name='ua-fast'/>
            </disk>
            <disk type='file' device='cdrom'>
              <driver name='qemu' type='raw'/>
              <target dev='hdc' bus='ide'/>
              <readonly/>
            </disk>
            \(extraDisk)
            <controller type='scsi' index='0' model='virtio-scsi'/>
            <interface type='network'>
              <mac address='52:54:00:c5:33:ba'/>
              <source network='default'/>
              <model type='e1000'/>
            </interface>
            <graphics type='vnc' port='-1' autoport='yes' passwd='s3cret'>
              <listen type='address'/>
            </graphics>
            <channel type='spicevmc'>
              <target type='virtio' name='com.redhat.spice.0'/>
            </channel>
            <tpm model='tpm-crb'>
              <backend type='emulator' version='2.0'/>
            </tpm>
            <redirdev bus='usb' type='spicevmc'/>
            <filesystem type='mount' accessmode='passthrough'>
              <source dir='/srv/share'/>
              <target dir='share'/>
            </filesystem>
          </devices>
          <qemu:override>
            <qemu:device alias='ua-fast'>
              <qemu:frontend>
                <qemu:property name='driver' type='string' value='nvme'/>
              </qemu:frontend>
            </qemu:device>
          </qemu:override>
        </domain>
        """
    }

    func plan(_ xml: String = definition(), _ options: AdoptOptions = AdoptOptions(), known: Assignment? = nil) throws -> AdoptPlanner.Plan {
        try AdoptPlanner.plan(XElement.parse(xml), options: options, known: known)
    }

    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return ""
        } catch let e as VMSerialError {
            if case .badInput = e { return e.description }
            return "not bad input: \(e)"
        } catch {
            return "other error: \(error)"
        }
    }

    // MARK: plan

    @Test("every disk becomes a volume on its bus with its serial as it is; the cdrom is left alone")
    func planDisks() throws {
        let p = try plan()
        #expect(p.request.vm == "web1")
        #expect(p.request.uuid == Self.uuid)
        #expect(p.request.specJSON == nil, "an adopted domain has no spec to launch it again from")
        #expect(p.request.disks.map(\.target) == ["vda", "sda", "sdb", "vdb"])
        #expect(p.request.disks.map(\.bus) == [.virtio, .scsi, .sata, .nvme])
        #expect(p.request.disks.map(\.serial) == ["ABC1", nil, nil, nil])
        #expect(p.request.disks.map(\.volume.value) == ["web1/vda", "web1/sda", "web1/sdb", "web1/vdb"])
        #expect(p.request.disks[2].source == "/dev/vg0/web1-c", "a block device is a volume too")
        #expect(p.request.generateDiskSerials == false)
        #expect(p.skipped.count == 1 && p.skipped[0].hasPrefix("hdc (cdrom)"))
    }

    @Test("--volume names a disk's volume; --generate-missing asks for serials")
    func planVolumes() throws {
        let p = try plan(Self.definition(), AdoptOptions(generateMissing: true, volumes: ["sda": "team-share"]))
        #expect(p.request.disks.map(\.volume.value) == ["web1/vda", "team-share", "web1/sdb", "web1/vdb"])
        #expect(p.request.generateDiskSerials)
        let m = message { _ = try plan(Self.definition(), AdoptOptions(volumes: ["vdz": "x"])) }
        #expect(m.contains("no disk with target vdz"), "\(m)")
        #expect(throws: VMSerialError.self) { try AdoptOptions.volumes(["vda"]) }
        #expect(throws: VMSerialError.self) { try AdoptOptions.volumes(["vda=a", "vda=b"]) }
        #expect(try AdoptOptions.volumes(["vda=a=b"]) == ["vda": "a=b"])
    }

    @Test("a disk the registry knows at its target keeps its name and volume (a launched VM adopted again)")
    func planKnown() throws {
        let known = Assignment(vm: "web1", uuid: Self.uuid, smbiosMode: "none", smbiosSerial: nil, disks: [
            AssignedDisk(name: "root", volume: VolumeIdentity("web1/root"), bus: .virtio, target: "vda", source: "/a", serial: "ABC1", generated: false),
        ])
        let p = try plan(Self.definition(), AdoptOptions(), known: known)
        #expect(p.request.disks.map(\.name) == ["root", "sda", "sdb", "vdb"])
        #expect(p.request.disks.map(\.volume.value) == ["web1/root", "web1/sda", "web1/sdb", "web1/vdb"])
        let renamed = try plan(Self.definition(), AdoptOptions(volumes: ["vda": "other"]), known: known)
        #expect(renamed.request.disks[0].volume.value == "other", "--volume wins")
    }

    @Test("a serial too long for its bus is an error naming disk, serial, limit and fix; never cut", arguments: [
        ("ABCDEFGHIJKLMNOPQRSTU", "21 characters", "at most 20"),
        ("WITH SPACE", "' ' (space)", "letters, digits"),
        ("A:B", "':'", "letters, digits"),
    ])
    func badSerial(serial: String, what: String, fix: String) throws {
        let m = message { _ = try plan(Self.definition(serial: serial)) }
        #expect(m.contains("disk vda (virtio)"), "\(m)")
        #expect(m.contains("'\(serial)'"), "\(m)")
        #expect(m.contains(what), "\(m)")
        #expect(m.contains(fix), "\(m)")
        #expect(m.contains("never rewrites"), "\(m)")
    }

    @Test("a 36-character serial fits scsi, a 37-character one does not")
    func scsiLimit() throws {
        let disk = { (s: String) in "<disk type='file' device='disk'><source file='/x.img'/><target dev='sdc' bus='scsi'/><serial>\(s)</serial></disk>" }
        let ok = try plan(Self.definition(extraDisk: disk(String(repeating: "S", count: 36))))
        #expect(ok.request.disks.last?.serial == String(repeating: "S", count: 36))
        let m = message { _ = try plan(Self.definition(extraDisk: disk(String(repeating: "S", count: 37)))) }
        #expect(m.contains("disk sdc (scsi)") && m.contains("at most 36"), "\(m)")
    }

    @Test("unsupported disks are refused, all at once, naming each", arguments: [
        ("<disk type='network' device='disk'><source protocol='nbd' name='x'><host name='h' port='10809'/></source><target dev='vdc' bus='virtio'/></disk>",
         "disk vdc is type='network' (protocol nbd)"),
        ("<disk type='volume' device='disk'><source pool='default' volume='v'/><target dev='vdc' bus='virtio'/></disk>",
         "disk vdc is type='volume'"),
        ("<disk type='block' device='lun'><source dev='/dev/sdz'/><target dev='sdc' bus='scsi'/></disk>",
         "disk sdc is device='lun'"),
        ("<disk type='file' device='disk'><source file='/x.img'/><target dev='hda' bus='ide'/></disk>",
         "disk hda is on bus ide"),
        ("<disk type='file' device='disk'><source file='/x.img'/><target dev='sdc' bus='usb'/></disk>",
         "disk sdc is on bus usb"),
    ])
    func unsupportedDisk(disk: String, expected: String) throws {
        let m = message { _ = try plan(Self.definition(serial: "TOO-LONG-FOR-VIRTIO-X", extraDisk: disk)) }
        #expect(m.contains(expected), "\(m)")
        #expect(m.contains("2 problems"), "the serial and the disk are both reported: \(m)")
        #expect(m.contains("nothing was written"), "\(m)")
    }

    @Test("--smbios keep registers what the guest sees: no serial, the sysinfo one, or refuses the host's")
    func smbiosKeep() throws {
        #expect(try plan().request.smbiosMode == "none")
        let sysinfo = "<sysinfo type='smbios'><system><entry name='serial'>LIC-42</entry></system></sysinfo>"
        let custom = try plan(Self.definition(smbios: "<smbios mode='sysinfo'/>", sysinfo: sysinfo)).request
        #expect(custom.smbiosMode == "custom" && custom.smbiosSerial == "LIC-42")
        // The serial is the UUID (launch's unique): registered as unique, so keep changes nothing.
        let asUUID = "<sysinfo type='smbios'><system><entry name='serial'>\(Self.uuid)</entry></system></sysinfo>"
        #expect(try plan(Self.definition(smbios: "<smbios mode='sysinfo'/>", sysinfo: asUUID)).request.smbiosMode == "unique")
        // In capitals it is another string inside the guest: registered as it is.
        let capitals = asUUID.replacingOccurrences(of: Self.uuid, with: Self.uuid.uppercased())
        let custom2 = try plan(Self.definition(smbios: "<smbios mode='sysinfo'/>", sysinfo: capitals)).request
        #expect(custom2.smbiosMode == "custom" && custom2.smbiosSerial == Self.uuid.uppercased())
        // <sysinfo> without <smbios mode='sysinfo'/> does not reach the guest.
        #expect(try plan(Self.definition(sysinfo: sysinfo)).request.smbiosMode == "none")
        let m = message { _ = try plan(Self.definition(smbios: "<smbios mode='host'/>")) }
        #expect(m.contains("--smbios unique"), "\(m)")
        #expect(try plan(Self.definition(smbios: "<smbios mode='host'/>"), AdoptOptions(smbios: .unique)).request.smbiosMode == "unique")
    }

    // MARK: edit

    func assignment(smbios: String = "none", generated: Bool = true) -> Assignment {
        Assignment(vm: "web1", uuid: Self.uuid, smbiosMode: smbios, smbiosSerial: smbios == "unique" ? Self.uuid : nil, disks: [
            AssignedDisk(name: "vda", volume: VolumeIdentity("web1/vda"), bus: .virtio, target: "vda", source: "/a", serial: "ABC1", generated: false),
            AssignedDisk(name: "sda", volume: VolumeIdentity("web1/sda"), bus: .scsi, target: "sda", source: "/b", serial: generated ? "VSGENERATED000000001" : nil, generated: generated),
            AssignedDisk(name: "sdb", volume: VolumeIdentity("web1/sdb"), bus: .sata, target: "sdb", source: "/c", serial: nil, generated: false),
            AssignedDisk(name: "vdb", volume: VolumeIdentity("web1/vdb"), bus: .nvme, target: "vdb", source: "/d", serial: generated ? "VSGENERATED000000002" : nil, generated: generated),
        ])
    }

    /// The tree without what adopt reports it adds: serials of `targets`, vmserial's metadata,
    /// and (for unique) the SMBIOS serial entry and `<smbios>`.
    func withoutAdoptions(_ root: XElement, targets: Set<String>) -> XElement {
        var r = root
        r.children = r.children.compactMap { node -> XElement.Node? in
            guard case var .element(e) = node else { return node }
            switch e.name {
            case "devices":
                e.children = e.children.map { n in
                    guard case var .element(d) = n, d.name == "disk", targets.contains(d.first("target")?[attribute: "dev"] ?? "") else { return n }
                    d.children.removeAll { if case let .element(c) = $0 { c.name == "serial" } else { false } }
                    return .element(d)
                }
            case "metadata":
                e.children.removeAll { if case let .element(c) = $0 { c.name == "vms:instance" } else { false } }
            case "sysinfo":
                return nil
            case "os":
                e.children.removeAll { if case let .element(c) = $0 { c.name == "smbios" } else { false } }
            default: break
            }
            return .element(e)
        }
        return r
    }

    @Test("edit adds only the serials a disk lacks and the metadata; every other element stays as it was")
    func editKeepsEverythingElse() throws {
        let before = try XElement.parse(Self.definition())
        let (after, changes) = AdoptPlanner.edit(before, assignment: assignment())
        #expect(changes.count == 3, "\(changes)")
        #expect(changes[0] == "disk sda (scsi): serial VSGENERATED000000001 added (generated)")
        #expect(changes[1].hasPrefix("disk vdb (nvme): serial VSGENERATED000000002 added"))
        #expect(changes[2].hasPrefix("metadata: vmserial's record"))
        #expect(withoutAdoptions(after, targets: ["sda", "vdb"]) == before)
        let d = try Domain(element: after)
        #expect(d.devices.disks.map(\.serial) == ["ABC1", "VSGENERATED000000001", nil, "VSGENERATED000000002", nil])
        #expect(d.serialMetadata?.disks.map(\.serial) == ["ABC1", "VSGENERATED000000001", nil, "VSGENERATED000000002"])
        #expect(d.metadata.count == 2, "libosinfo's metadata is kept beside vmserial's")
        #expect(after.rendered().contains("passwd='s3cret'"), "a graphics password in the secure definition is written back")
        #expect(after.rendered().contains("<libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>"),
                "another application's metadata keeps its namespace: \(after.rendered())")
        #expect(after.rendered().contains("xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"))
        // Adopting again changes nothing.
        let (again, none) = AdoptPlanner.edit(after, assignment: assignment())
        #expect(none.isEmpty && again == after)
    }

    @Test("--smbios unique adds the UUID as the SMBIOS serial and shows <sysinfo> to the guest")
    func editUnique() throws {
        let before = try XElement.parse(Self.definition())
        let (after, changes) = AdoptPlanner.edit(before, assignment: assignment(smbios: "unique", generated: false))
        #expect(changes.contains("smbios: serial \(Self.uuid) added (the VM's UUID, --smbios unique)"))
        #expect(changes.contains { $0.hasPrefix("os: <smbios mode='sysinfo'/> added") })
        let d = try Domain(element: after)
        #expect(d.sysinfo?[system: "serial"] == Self.uuid)
        #expect(d.os.smbiosMode == "sysinfo")
        let order = after.elements.map(\.name)
        #expect(order.firstIndex(of: "sysinfo")! < order.firstIndex(of: "os")!, "libvirt's order: sysinfo before os")
        #expect(withoutAdoptions(after, targets: []) == before)

        // A serial the user gave is replaced only by an explicit unique, and said so.
        let sysinfo = "<sysinfo type='smbios'><system><entry name='manufacturer'>ACME</entry><entry name='serial'>OLD</entry></system></sysinfo>"
        let (custom, c2) = AdoptPlanner.edit(try XElement.parse(Self.definition(smbios: "<smbios mode='sysinfo'/>", sysinfo: sysinfo)),
                                             assignment: assignment(smbios: "unique", generated: false))
        #expect(c2.contains("smbios: serial OLD replaced by \(Self.uuid) (the VM's UUID, --smbios unique)"))
        #expect(try Domain(element: custom).sysinfo?.system.map(\.name) == ["manufacturer", "serial"])
    }

    // MARK: diff

    /// Our diff and GNU diff's (another implementation: the oracle) past the two header lines.
    func compareWithGNU(_ before: String, _ after: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = NSTemporaryDirectory() + "vmserial-diff-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try before.write(toFile: dir + "/a", atomically: true, encoding: .utf8)
        try after.write(toFile: dir + "/b", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/diff")
        p.arguments = ["-u", dir + "/a", dir + "/b"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let gnu = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let ours = UnifiedDiff.diff(before, after, oldName: "a", newName: "b")
        let body = { (s: String) in s.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(2).joined(separator: "\n") }
        #expect(p.terminationStatus == (before == after ? 0 : 1), sourceLocation: sourceLocation)
        #expect(ours.isEmpty == (before == after), sourceLocation: sourceLocation)
        #expect(body(ours) == body(gnu), "ours:\n\(ours)\nGNU:\n\(gnu)", sourceLocation: sourceLocation)
    }

    @Test("the dry run's diff is the one GNU diff -u gives")
    func diffMatchesGNUDiff() throws {
        let before = try XElement.parse(Self.definition()).rendered()
        let after = AdoptPlanner.edit(try XElement.parse(Self.definition()), assignment: assignment(smbios: "unique")).0.rendered()
        try compareWithGNU(before, after)
        try compareWithGNU(before, before)
    }

    @Test("diff shapes as GNU diff gives them: insertions at either end, a change, far-apart and close hunks, an empty side")
    func diffShapes() throws {
        let twenty = (1...20).map(String.init).joined(separator: "\n") + "\n"
        let cases: [(String, String)] = [
            ("a\nb\n", "x\na\nb\n"),
            ("a\nb\n", "a\nb\nx\n"),
            ("a\nb\n", "a\nc\n"),
            ("", "x\n"),
            ("x\ny\n", ""),
            (twenty, twenty.replacingOccurrences(of: "\n2\n", with: "\nTWO\n").replacingOccurrences(of: "\n19\n", with: "\nNINETEEN\n")),
            (twenty, twenty.replacingOccurrences(of: "\n5\n", with: "\nFIVE\n").replacingOccurrences(of: "\n11\n", with: "\n11\nELEVEN+\n")),
        ]
        for (a, b) in cases { try compareWithGNU(a, b) }
    }

    // MARK: spec

    @Test("spec --domain: the domain's identity and disks; generated serials left to the volume")
    func specFromDomain() throws {
        let d = try Domain(xml: Self.definition())
        let a = assignment()
        let (spec, warnings) = try DomainSpecMaker.spec(from: d, assignment: a, checkFiles: false)
        #expect(spec.name == "web1" && spec.uuid == Self.uuid)
        #expect(spec.memoryMiB == 256 && spec.vcpus == 1 && spec.accel == .tcg && spec.machine == .pc)
        #expect(spec.boot == .firmware(.bios))
        #expect(spec.smbios == VMSpec.SMBIOS(mode: .none))
        #expect(spec.disks.map(\.name) == ["vda", "sda", "sdb", "vdb"])
        #expect(spec.disks.map(\.bus) == [.virtio, .scsi, .sata, .nvme])
        #expect(spec.disks.map(\.serial) == ["ABC1", nil, nil, nil], "generated serials come back through the volume")
        #expect(spec.disks.map(\.volume) == [nil, nil, nil, nil], "default volumes are not written")
        #expect(spec.disks.map(\.format) == [.qcow2, .qcow2, .raw, .raw])
        #expect(spec.generateDiskSerials == false, "sdb has no serial: a launch must not give it one")
        #expect(warnings.contains { $0.contains("graphics") && $0.contains("interface") && $0.contains("tpm") })
        #expect(warnings.contains { $0.contains("hdc (cdrom)") })
        // The JSON loads back as the same spec.
        #expect(try SpecLoader.decode(Data(DomainSpecMaker.json(spec).utf8)) == spec)
    }

    @Test("spec --domain with a shared volume and unique SMBIOS; a domain vmserial does not know")
    func specVolumes() throws {
        let d = try Domain(xml: Self.definition())
        var a = assignment(smbios: "unique")
        a.disks[1].volume = VolumeIdentity("team-share")
        let (spec, _) = try DomainSpecMaker.spec(from: d, assignment: a, checkFiles: false)
        #expect(spec.disks[1].volume == "team-share")
        #expect(spec.smbios.mode == .unique)
        let (bare, _) = try DomainSpecMaker.spec(from: d, assignment: nil, checkFiles: false)
        #expect(bare.disks.map(\.serial) == ["ABC1", nil, nil, nil])
        #expect(bare.smbios.mode == .none)
    }

    // MARK: transaction (libvirt's in-memory driver)

    func testDomain(_ name: String, serial: String) -> String {
        """
        <domain type='test'><name>\(name)</name><memory unit='KiB'>65536</memory><vcpu>1</vcpu>
        <os><type arch='x86_64'>hvm</type></os>
        <devices>
          <disk type='file' device='disk'><source file='/tmp/\(name).img'/><target dev='vda' bus='virtio'/><serial>\(serial)</serial></disk>
          <disk type='file' device='disk'><source file='/tmp/\(name)-2.img'/><target dev='vdb' bus='virtio'/></disk>
        </devices></domain>
        """
    }

    @Test("adopt registers and redefines in one transaction; a serial another volume holds writes nothing")
    func transaction() throws {
        let connection = try Connection(uri: "test:///default")
        let registry = try SQLiteRegistry(path: ":memory:")
        let tag = UInt32.random(in: 0...UInt32.max)
        let first = "adopt-a-\(tag)", second = "adopt-b-\(tag)"
        _ = try connection.defineDomain(xml: testDomain(first, serial: "SHARED-1"))
        defer { try? connection.lookupDomain(name: first).undefine() }
        _ = try connection.defineDomain(xml: testDomain(second, serial: "SHARED-1"))
        defer { try? connection.lookupDomain(name: second).undefine() }

        let adopter = Adopter(connection: connection, registry: registry)
        let dry = try adopter.adopt(domain: first, options: AdoptOptions(generateMissing: true, dryRun: true))
        #expect(dry.dryRun && !dry.redefined && dry.diff.contains("+      <serial>"))
        #expect(try registry.assignment(vm: first) == nil, "a dry run writes nothing")
        #expect(try Domain(xml: connection.lookupDomain(name: first).xmlDesc(inactive: true)).serialMetadata == nil)

        let r = try adopter.adopt(domain: first, options: AdoptOptions(generateMissing: true))
        #expect(r.redefined)
        let generated = try #require(r.assignment.disk(named: "vdb")?.serial)
        let defined = try Domain(xml: connection.lookupDomain(name: first).xmlDesc(inactive: true))
        #expect(defined.devices.disks.map(\.serial) == ["SHARED-1", generated])
        #expect(defined.serialMetadata?.disks.map(\.volume) == ["\(first)/vda", "\(first)/vdb"])
        #expect(try registry.assignment(vm: first)?.disks.map(\.serial) == ["SHARED-1", generated])

        // No spec to launch it again from: refused before anything is undefined.
        let adoptedXML = try connection.lookupDomain(name: first).xmlDesc(inactive: true)
        let relaunch = message { _ = try Launcher(connection: connection, registry: registry).relaunchFromScratch(vm: first) }
        #expect(relaunch.contains("\(first) was adopted") && relaunch.contains("vmserial spec --domain"), "\(relaunch)")
        #expect(try connection.lookupDomain(name: first).xmlDesc(inactive: true) == adoptedXML)

        // Idempotent: nothing left to change, so no redefinition.
        let again = try adopter.adopt(domain: first, options: AdoptOptions(generateMissing: true))
        #expect(!again.redefined && again.changes.isEmpty)

        let before = try connection.lookupDomain(name: second).xmlDesc(inactive: true)
        let dup = message { _ = try adopter.adopt(domain: second, options: AdoptOptions(generateMissing: true)) }
        #expect(dup.contains("serial SHARED-1 of disk vda (volume \(second)/vda) is already held by volume \(first)/vda"), "\(dup)")
        #expect(dup.contains("--volume vda=\(first)/vda"), "\(dup)")
        #expect(try registry.assignment(vm: second) == nil)
        #expect(try connection.lookupDomain(name: second).xmlDesc(inactive: true) == before)

        let m = message { _ = try adopter.adopt(domain: "no-such-\(tag)") }
        #expect(m.contains("has no domain no-such-\(tag)"), "\(m)")
    }

    @Test("a running domain is adopted into its persistent definition (next boot); a transient one is refused")
    func runningAndTransient() throws {
        let connection = try Connection(uri: "test:///default")
        let registry = try SQLiteRegistry(path: ":memory:")
        let tag = UInt32.random(in: 0...UInt32.max)
        let running = "adopt-run-\(tag)", transient = "adopt-tr-\(tag)"
        let dom = try connection.defineDomain(xml: testDomain(running, serial: "RUN-1"))
        defer { try? dom.destroy(); try? dom.undefine() }
        try dom.start()
        let r = try Adopter(connection: connection, registry: registry).adopt(domain: running, options: AdoptOptions(generateMissing: true))
        #expect(r.running && r.redefined)
        #expect(AdoptView(r).text(uri: "test:///default").contains("running: the new definition applies at its next boot"))
        let persistent = try Domain(xml: connection.lookupDomain(name: running).xmlDesc(inactive: true))
        #expect(persistent.devices.disks.allSatisfy { $0.serial != nil })

        let t = try connection.createTransientDomain(xml: testDomain(transient, serial: "TR-1"))
        defer { try? t.destroy() }
        let m = message { _ = try Adopter(connection: connection, registry: registry).adopt(domain: transient) }
        #expect(m.contains("transient"), "\(m)")
        #expect(try registry.assignment(vm: transient) == nil)
    }
}
