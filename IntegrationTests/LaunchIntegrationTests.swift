import DomainXML
import Foundation
import Libvirt
import SerialPolicy
import Testing

/// `vmserial launch` against a real libvirt daemon (qemu:///system, QEMU under TCG).
extension Integration {
@Suite
final class LaunchIntegrationTests {
    let box: Sandbox

    init() throws { box = try Sandbox() }

    static let threeDisks: [Sandbox.DiskSpec] = [
        .init(name: "root", bus: "virtio"),
        .init(name: "data", bus: "scsi", serial: "MANUAL-0001"),
        .init(name: "share", bus: "sata", format: "raw", shareable: true),
    ]

    @Test("launch defines a domain whose disks, sysinfo and metadata carry the registered identity")
    func launchDefines() throws {
        let vm = box.name("def")
        var disks = Self.threeDisks
        disks[2].volume = "share-\(box.tag)"
        let spec = try box.spec(vm, disks: disks)
        let specBefore = try String(contentsOfFile: spec, encoding: .utf8)
        let r = try box.vmserial("launch", spec, "--no-start", "--json")
        #expect(r.status == 0, "\(r.all)")
        let out = try box.json(r)
        let a = try #require(out["assignment"] as? [String: Any])
        let uuid = try #require(a["uuid"] as? String)

        // What libvirt holds, read back through its API, not what we printed.
        let d = try box.definition(vm)
        #expect(d.uuid == uuid)
        #expect(d.sysinfo?[system: "serial"] == uuid, "unique mode: SMBIOS serial is the instance UUID")
        #expect(d.sysinfo?[system: "uuid"] == uuid)
        #expect(d.os.smbiosMode == "sysinfo")
        #expect(d.type == "qemu")
        let byTarget = Dictionary(uniqueKeysWithValues: d.devices.disks.map { ($0.targetDev, $0) })
        #expect(byTarget["sda"]?.serial == "MANUAL-0001")
        let root = try #require(byTarget["vda"]?.serial)
        let share = try #require(byTarget["sdb"]?.serial)
        #expect(SerialGenerator.looksGenerated(root))
        #expect(SerialGenerator.looksGenerated(share))
        #expect(root != share)
        #expect(a.disk("root")?["serial"] as? String == root)
        #expect(a.disk("root")?["generated"] as? Bool == true)
        #expect(a.disk("data")?["generated"] as? Bool == false)
        #expect(a.disk("share")?["volume"] as? String == "share-\(box.tag)")

        let meta = try #require(d.serialMetadata, "the domain's <metadata> has vmserial's record")
        #expect(meta.uuid == uuid)
        #expect(meta.disks.map(\.serial) == [root, "MANUAL-0001", share])
        #expect(meta.disks.map(\.generated) == [true, false, true])

        // libvirt's schema accepts what we rendered.
        let xmlFile = box.dir + "/dump.xml"
        try connectionXML(vm).write(toFile: xmlFile, atomically: true, encoding: .utf8)
        let v = try run("virt-xml-validate", [xmlFile, "domain"])
        #expect(v.status == 0, "virt-xml-validate: \(v.all)")

        // The spec file is never written.
        #expect(try String(contentsOfFile: spec, encoding: .utf8) == specBefore)
    }

    func connectionXML(_ vm: String) throws -> String {
        try box.connection.lookupDomain(name: vm).xmlDesc(inactive: true)
    }

    @Test("launching the same spec again keeps UUID and every serial")
    func relaunchIdentical() throws {
        let vm = box.name("again")
        let spec = try box.spec(vm, disks: Self.threeDisks)
        let first = try box.vmserial("launch", spec, "--no-start", "--json")
        #expect(first.status == 0, "\(first.all)")
        let before = try box.definition(vm)
        let second = try box.vmserial("launch", spec, "--no-start", "--json")
        #expect(second.status == 0, "\(second.all)")
        #expect(try box.json(second)["action"] as? String == "redefined")
        let after = try box.definition(vm)
        #expect(after.uuid == before.uuid)
        #expect(after.devices.disks.map(\.serial) == before.devices.disks.map(\.serial))
        #expect(after.sysinfo == before.sysinfo)

        // Also after the domain is gone from libvirt entirely: the registry brings it back the same.
        try box.connection.lookupDomain(name: vm).undefine()
        let third = try box.vmserial("launch", spec, "--no-start")
        #expect(third.status == 0, "\(third.all)")
        #expect(try box.definition(vm).devices.disks.map(\.serial) == before.devices.disks.map(\.serial))
        #expect(try box.definition(vm).uuid == before.uuid)
    }

    @Test("a second VM gets a UUID and serials of its own; a shared volume keeps one serial")
    func secondVMDisjoint() throws {
        let a = box.name("a"), b = box.name("b")
        let shared = Sandbox.DiskSpec(name: "team", bus: "virtio", format: "raw", volume: "team-\(box.tag)", shareable: true,
                                      file: "team.img")
        _ = try box.vmserial("launch", try box.spec(a, disks: [.init(name: "root", bus: "virtio"), shared]), "--no-start")
        var onSATA = shared
        onSATA.bus = "sata"
        let r = try box.vmserial("launch", try box.spec(b, disks: [.init(name: "root", bus: "virtio"), onSATA]), "--no-start")
        #expect(r.status == 0, "\(r.all)")
        let da = try box.definition(a), db = try box.definition(b)
        #expect(da.uuid != db.uuid)
        #expect(da.devices.disks[0].serial != db.devices.disks[0].serial)
        #expect(da.devices.disks[1].serial == db.devices.disks[1].serial, "one volume, one serial, whatever the bus")
        #expect(db.devices.disks[1].targetBus == "sata")
    }

    @Test("dry run prints valid XML and writes nothing")
    func dryRun() throws {
        let vm = box.name("dry")
        let spec = try box.spec(vm, disks: Self.threeDisks)
        let r = try box.vmserial("launch", spec, "--dry-run")
        #expect(r.status == 0, "\(r.all)")
        let d = try DomainXML.Domain(xml: r.stdout)
        #expect(d.name == vm)
        #expect(d.devices.disks.count == 3)
        #expect(!box.exists(vm))
        #expect(!FileManager.default.fileExists(atPath: box.registry), "no registry file was created")
    }

    @Test("a dry run of a launched VM shows the serials it already has")
    func dryRunOfLaunched() throws {
        let vm = box.name("drylaunched")
        let spec = try box.spec(vm, disks: Self.threeDisks)
        #expect(try box.vmserial("launch", spec, "--no-start").status == 0)
        let before = try box.registrySnapshot()
        let r = try box.vmserial("launch", spec, "--dry-run")
        #expect(r.status == 0, "\(r.all)")
        let dry = try DomainXML.Domain(xml: r.stdout)
        #expect(dry.devices.disks.map(\.serial) == (try box.definition(vm)).devices.disks.map(\.serial))
        #expect(try box.registrySnapshot() == before)
    }

    /// Bad input: exit 2, a message naming the thing and the fix, no domain, no registry change.
    @Test("bad specs are refused with exit 2 and leave libvirt and the registry as they were", arguments: [
        ("virtio serial too long", #"{"name":"root","source":"root.qcow2","bus":"virtio","serial":"ABCDEFGHIJKLMNOPQRSTU"}"#,
         ["disk \"root\"", "virtio", "20"]),
        ("scsi serial too long", #"{"name":"root","source":"root.qcow2","bus":"scsi","serial":"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789X"}"#,
         ["disk \"root\"", "scsi", "36"]),
        ("bad characters", #"{"name":"root","source":"root.qcow2","bus":"virtio","serial":"A B/C"}"#,
         ["[A-Za-z0-9_.+-]", "disks[0].serial"]),
        ("missing image", #"{"name":"root","source":"nowhere.qcow2","bus":"virtio"}"#, ["nowhere.qcow2", "does not exist"]),
        ("unknown key", #"{"name":"root","source":"root.qcow2","bus":"virtio","serail":"X"}"#, ["serail", "unknown key"]),
        ("unknown bus", #"{"name":"root","source":"root.qcow2","bus":"ide"}"#, ["disks[0].bus", "virtio, scsi, sata, nvme"]),
    ])
    func badSpec(label: String, disk: String, mentions: [String]) throws {
        let ok = box.name("ok")
        _ = try box.vmserial("launch", try box.spec(ok, disks: [.init(name: "root", bus: "virtio")]), "--no-start")
        let before = try box.registrySnapshot()
        #expect(before.contains(ok))

        let vm = box.name("bad")
        try box.disk("root.qcow2")
        let spec = box.dir + "/\(vm).json"
        let text = #"{"name":"\#(vm)","accel":"tcg","boot":{"kernel":"\#(packageRoot)/images/build/probe-vmlinuz"},"disks":[\#(disk)]}"#
        try text.write(toFile: spec, atomically: true, encoding: .utf8)
        let r = try box.vmserial("launch", spec)
        #expect(r.status == 2, "\(label): \(r.all)")
        for m in mentions { #expect(r.stderr.contains(m), "\(label): the message should mention \(m): \(r.stderr)") }
        #expect(!box.exists(vm), "\(label): no domain defined")
        #expect(try box.registrySnapshot() == before, "\(label): registry unchanged")
    }

    @Test("a serial already held by another volume is refused, naming both, and nothing changes")
    func duplicateSerialAcrossVMs() throws {
        let a = box.name("holder"), b = box.name("taker")
        let serial = "DUP-\(box.tag)".uppercased()
        let r1 = try box.vmserial("launch", try box.spec(a, disks: [.init(name: "root", bus: "virtio", serial: serial)]), "--no-start")
        #expect(r1.status == 0, "\(r1.all)")
        let before = try box.registrySnapshot()
        let r2 = try box.vmserial("launch", try box.spec(b, disks: [.init(name: "data", bus: "scsi", serial: serial)]), "--no-start")
        #expect(r2.status == 2, "\(r2.all)")
        #expect(r2.stderr.contains("\(a)/root") && r2.stderr.contains("\(b)/data") && r2.stderr.contains(serial), "\(r2.stderr)")
        #expect(!box.exists(b))
        #expect(try box.registrySnapshot() == before)
    }

    @Test("libvirt refusing the definition rolls the registry back")
    func libvirtRefusalRollsBack() throws {
        // A domain of that name made outside vmserial (another UUID): launch must not take it over.
        _ = try box.vmserial("launch", try box.spec(box.name("first"), disks: [.init(name: "root", bus: "virtio")]), "--no-start")
        let vm = box.name("foreign")
        let foreign = DomainXML.Domain(type: "qemu", name: vm, uuid: UUID().uuidString.lowercased(), memoryKiB: 65536, vcpus: 1,
                                       os: .init(arch: "x86_64", machine: "pc"))
        _ = try box.connection.defineDomain(xml: foreign.xml())
        let before = try box.registrySnapshot()
        let r = try box.vmserial("launch", try box.spec(vm, disks: [.init(name: "root", bus: "virtio")]), "--no-start")
        #expect(r.status == 2, "\(r.all)")
        #expect(r.stderr.contains("already has a domain named \(vm)"), "\(r.stderr)")
        #expect(try box.registrySnapshot() == before)
        #expect(try box.definition(vm).uuid == foreign.uuid, "the foreign domain is untouched")
    }

    @Test("launch starts the guest and it boots on the assigned hardware")
    func launchStarts() throws {
        let vm = box.name("start")
        let r = try box.vmserial("launch", try box.spec(vm, disks: [.init(name: "root", bus: "virtio")]), "--json")
        #expect(r.status == 0, "\(r.all)")
        #expect(try box.json(r)["started"] as? Bool == true)
        // The example guest is the probe: it reports and powers off, which proves QEMU ran it.
        let dom = try box.connection.lookupDomain(name: vm)
        let deadline = Date().addingTimeInterval(120)
        while (try dom.isActive) && Date() < deadline { Thread.sleep(forTimeInterval: 0.5) }
        #expect(try !dom.isActive, "the guest powered itself off after booting")
    }

    @Test("serials: errors for an unknown domain and for a missing registry")
    func serialsErrors() throws {
        let none = try box.vmserial("serials", "--domain", "nope")
        #expect(none.status == 2)
        #expect(none.stderr.contains("no registry at"), "\(none.stderr)")
        _ = try box.vmserial("launch", try box.spec(box.name("one"), disks: [.init(name: "root", bus: "virtio")]), "--no-start")
        let missing = try box.vmserial("serials", "--domain", "nope")
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no VM named nope"), "\(missing.stderr)")
    }
}
}
