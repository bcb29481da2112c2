import Foundation
import Guestfs
import Inspection
import Testing
import VMSerialKit

/// `vmserial inspect`: libguestfs reads what a guest OS recorded about its disks and machine,
/// offline and read-only, and the registry judges it. A Linux guest (the test guest from
/// images/) with fstab and crypttab entries by id; a synthetic Windows disk whose SYSTEM hive
/// the test writes.
extension Integration {
@Suite
final class InspectIntegrationTests {
    let box: Sandbox
    static let guestImage = "\(packageRoot)/images/build/guest.qcow2"

    init() throws { box = try Sandbox() }

    typealias Row = (system: String, what: String, expected: String, seen: String, ok: Bool, info: Bool, detail: String)

    func findings(_ json: [String: Any]) -> [Row] {
        ((json["systems"] as? [[String: Any]]) ?? []).flatMap { s in
            ((s["findings"] as? [[String: Any]]) ?? []).map {
                (s["root"] as? String ?? "", $0["what"] as? String ?? "", $0["expected"] as? String ?? "", $0["seen"] as? String ?? "",
                 $0["ok"] as? Bool ?? false, $0["info"] as? Bool ?? false, $0["detail"] as? String ?? "")
            }
        }
    }

    func serials(_ vm: String) throws -> (uuid: String, smbios: String, disks: [String: String]) {
        let a = try box.json(try box.vmserial("serials", "--domain", vm, "--json"))
        var disks: [String: String] = [:]
        for d in a.disks { if let n = d["name"] as? String, let s = d["serial"] as? String { disks[n] = s } }
        return (try #require(a["uuid"] as? String), try #require(a["smbiosSerial"] as? String), disks)
    }

    @Test("Linux: an fstab entry by id that names a current disk matches; one naming a serial no disk has is flagged (exit 1); the disks stay untouched")
    func linuxFstabByID() throws {
        guard FileManager.default.fileExists(atPath: Self.guestImage) else {
            Issue.record("\(Self.guestImage) is missing: run `make -C images guest`")
            return
        }
        let vm = box.name("lnx")
        let root = "\(box.dir)/\(vm)-root.qcow2"
        try FileManager.default.copyItem(atPath: Self.guestImage, toPath: root)
        let spec = try box.spec(vm, disks: [
            .init(name: "root", bus: "virtio", file: "\(vm)-root.qcow2"),
            .init(name: "data", bus: "scsi"),
            .init(name: "logs", bus: "sata"),
        ])
        let launched = try box.vmserial("launch", spec, "--no-start")
        try #require(launched.status == 0, "\(launched.all)")
        let ids = try serials(vm)
        let data = try #require(ids.disks["data"]), logs = try #require(ids.disks["logs"])
        let stale = "VSSTALE0000000000001"
        #expect(!ids.disks.values.contains(stale))

        // What a guest administrator would have written, through libguestfs into the guest's root.
        let g = try Guestfs(options: WindowsImage.options)
        try g.addDrive(root, format: "qcow2", readonly: false)
        try g.launch()
        let osRoot = try #require(try g.inspectOS().first, "libguestfs finds the test guest")
        try g.mountInspected(root: osRoot, readonly: false)
        let fstab = (try? g.readText("/etc/fstab")) ?? ""
        try g.write("/etc/fstab", fstab + """
            /dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_\(data) /data ext4 defaults,nofail 0 2
            /dev/disk/by-id/virtio-\(stale)-part1 /old ext4 defaults,nofail 0 2

            """)
        try g.write("/etc/crypttab", "# <target> <device> <key> <options>\nlogs /dev/disk/by-id/ata-QEMU_HARDDISK_\(logs) none luks,nofail\n")
        try g.umountAll()
        try g.shutdown()
        g.close()

        let images = try box.definition(vm).devices.disks.compactMap(\.source)
        let sums = try images.map(box.sha256)
        let r = try box.vmserial("inspect", "--domain", vm, "--json")
        #expect(r.status == 1, "a stale by-id entry fails the inspection: \(r.all)")
        let out = try box.json(r)
        #expect(out["ok"] as? Bool == false)
        let systems = (out["systems"] as? [[String: Any]]) ?? []
        #expect(systems.count == 1)
        #expect(systems.first?["type"] as? String == "linux")
        #expect(systems.first?["disk"] as? String == "root")
        #expect(out.disk("root")?["systems"] as? [String] == [osRoot])
        #expect(out.disk("data")?["systems"] as? [String] == [])

        let rows = findings(out)
        let byWhat = Dictionary(rows.map { ($0.what, $0) }, uniquingKeysWith: { a, _ in a })
        let matched = try #require(byWhat["fstab /data"], "\(rows)")
        #expect(matched.ok && !matched.info)
        #expect(matched.seen == "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_\(data)")
        #expect(matched.detail.contains("disk data (scsi sda)"))
        let missing = try #require(byWhat["fstab /old"], "\(rows)")
        #expect(!missing.ok)
        #expect(missing.seen == "/dev/disk/by-id/virtio-\(stale)-part1")
        #expect(missing.detail.contains("no disk of this VM has serial \(stale): a disk that will not be found at boot"))
        #expect(missing.expected.contains("scsi-0QEMU_QEMU_HARDDISK_\(data)"))
        let crypt = try #require(byWhat["crypttab logs"], "\(rows)")
        #expect(crypt.ok)
        #expect(rows.filter { !$0.ok }.count == 1, "only the stale entry fails: \(rows.filter { !$0.ok })")

        #expect(try images.map(box.sha256) == sums, "inspect opens the disks read-only")
    }

    @Test("Windows: the SMBIOS serial and disk serials Windows recorded are reported; a different SMBIOS serial and an old disk instance are flagged (exit 1)")
    func windowsRegistry() throws {
        let vm = box.name("win")
        let system = "\(vm)-system.qcow2"
        let create = try run("qemu-img", ["create", "-q", "-f", "qcow2", "\(box.dir)/\(system)", "64M"])
        try #require(create.status == 0, "\(create.all)")
        let spec = try box.spec(vm, disks: [
            .init(name: "system", bus: "sata", file: system),
            .init(name: "data", bus: "virtio"),
        ])
        let launched = try box.vmserial("launch", spec, "--no-start")
        try #require(launched.status == 0, "\(launched.all)")
        let ids = try serials(vm)
        let data = try #require(ids.disks["data"])

        // Windows as it would look after booting on this VM: the SMBIOS table it saw, the virtio
        // disk's instance (built from its serial), the SATA system disk's location-based one.
        let virtioDisk = "Disk&Ven_Red_Hat&Prod_VirtIO"
        let virtioValues = WindowsImage.diskValues(friendlyName: "Red Hat VirtIO SCSI Disk Device",
                                                   hardwareIDs: ["SCSI\\DiskRed_Hat_VirtIO_____0001", "SCSI\\DiskRed_Hat_VirtIO_____", "GenDisk"])
        let sataValues = WindowsImage.diskValues(friendlyName: "QEMU HARDDISK", hardwareIDs: ["SCSI\\DiskQEMU_HARDDISK_____2.5+", "GenDisk"])
        try WindowsImage.build("\(box.dir)/\(system)", system: WindowsImage.system(smbiosSerial: ids.smbios, uuid: ids.uuid, lastConfig: ids.uuid, instances: [
            ("SCSI", virtioDisk, "\(data)&0", virtioValues),
            ("SCSI", "Disk&Ven_&Prod_QEMU_HARDDISK", "4&2a0cfc1b&0&000000", sataValues),
        ]))

        let first = try box.vmserial("inspect", "--domain", vm, "--json")
        #expect(first.status == 0, "what Windows recorded is this VM's identity: \(first.all)")
        let out = try box.json(first)
        #expect(out["ok"] as? Bool == true)
        // The blank data disk trips libguestfs 1.48's MountedDevices mapping: inspected again without it.
        let warnings = (out["warnings"] as? [String]) ?? []
        #expect(warnings.contains { $0.contains("without a partition table") && $0.contains("without data (vda)") }, "\(warnings)")
        #expect(out.disk("system")?["systems"] as? [String] == ["/dev/sda1"])
        let sys = try #require((out["systems"] as? [[String: Any]])?.first, "\(first.all)")
        // libguestfs' own inspection calls the synthetic disk Windows.
        #expect(sys["type"] as? String == "windows")
        #expect(sys["root"] as? String == "/dev/sda1")
        #expect(sys["disk"] as? String == "system")
        #expect(sys["productName"] as? String == WindowsImage.productName)
        #expect(sys["version"] as? String == "10.0")
        #expect(sys["hostname"] as? String == WindowsImage.hostname)
        let windows = try #require(sys["windows"] as? [String: Any])
        #expect(windows["controlSet"] as? String == "ControlSet001")
        let smbios = try #require(windows["smbios"] as? [String: Any])
        #expect(smbios["serialNumber"] as? String == ids.smbios, "the serial the test wrote, read back through hivex")
        #expect(smbios["uuid"] as? String == ids.uuid)

        var rows = Dictionary(findings(out).map { ($0.what, $0) }, uniquingKeysWith: { a, _ in a })
        let serialRow = try #require(rows["smbios serial (Windows last saw)"])
        #expect(serialRow.ok && serialRow.seen == ids.smbios && serialRow.expected == ids.smbios)
        #expect(rows["smbios uuid (Windows last saw)"]?.ok == true)
        #expect(rows["machine uuid (HardwareConfig LastConfig)"].map { $0.ok && !$0.info && $0.seen == ids.uuid.lowercased() } == true)
        let dataRow = try #require(rows["disk instance SCSI\\\(virtioDisk)\\\(data)&0"], "\(rows.keys.sorted())")
        #expect(dataRow.ok && !dataRow.info && dataRow.seen == data)
        #expect(dataRow.detail.contains("disk data (virtio vda)"))
        #expect(rows["disk instance SCSI\\Disk&Ven_&Prod_QEMU_HARDDISK\\4&2a0cfc1b&0&000000"]?.info == true)
        #expect(rows["MountedDevices \\DosDevices\\C:"]?.seen == "MBR disk 56534552, partition at byte 1048576")

        // Guest mode has no Windows reporter: refused, pointing at inspect, nothing written.
        let before = try box.sha256("\(box.dir)/\(system)")
        let guest = try box.vmserial("verify", "--domain", vm, "--mode", "guest")
        #expect(guest.status == 2, "\(guest.all)")
        #expect(guest.stderr.contains("Windows") && guest.stderr.contains("vmserial inspect --domain \(vm)"), "\(guest.stderr)")
        #expect(try box.sha256("\(box.dir)/\(system)") == before)

        // The host serial changed under Windows, and it remembers a disk whose serial is gone.
        // And it last booted on other hardware.
        let oldHost = "OLD-HOST-SERIAL-0001", oldDisk = "VSOLDDISK00000000001", oldUUID = "99999999-0000-4000-8000-0000000000aa"
        try WindowsImage.updateSystem("\(box.dir)/\(system)", WindowsImage.system(smbiosSerial: oldHost, uuid: ids.uuid, lastConfig: oldUUID, instances: [
            ("SCSI", virtioDisk, "\(oldDisk)&0", virtioValues),
        ]))
        let sums = try [system].map { try box.sha256("\(box.dir)/\($0)") }
        let second = try box.vmserial("inspect", "--domain", vm, "--json")
        #expect(second.status == 1, "a recorded identity disagrees with the registry: \(second.all)")
        let out2 = try box.json(second)
        #expect(out2["ok"] as? Bool == false)
        rows = Dictionary(findings(out2).map { ($0.what, $0) }, uniquingKeysWith: { a, _ in a })
        let changed = try #require(rows["smbios serial (Windows last saw)"])
        #expect(!changed.ok)
        #expect(changed.expected == ids.smbios && changed.seen == oldHost, "both values are named")
        #expect(changed.detail.contains(oldHost) && changed.detail.contains(ids.smbios))
        #expect(rows["smbios uuid (Windows last saw)"]?.ok == true)
        let trace = try #require(rows["disk instance SCSI\\\(virtioDisk)\\\(oldDisk)&0"], "\(rows.keys.sorted())")
        #expect(!trace.ok && trace.seen == oldDisk)
        #expect(trace.detail.contains("the trace of a serial change"))
        #expect(rows["disk instance SCSI\\\(virtioDisk)\\\(data)&0"]?.ok == true, "the current disk's instance still matches")
        let lastConfig = try #require(rows["machine uuid (HardwareConfig LastConfig)"])
        #expect(!lastConfig.ok && lastConfig.seen == oldUUID && lastConfig.expected == ids.uuid.lowercased(), "both UUIDs are named")
        #expect(lastConfig.detail.contains(oldUUID) && lastConfig.detail.contains(ids.uuid.lowercased()))
        #expect(findings(out2).filter { !$0.ok }.count == 3, "\(findings(out2).filter { !$0.ok })")
        #expect(try [system].map { try box.sha256("\(box.dir)/\($0)") } == sums, "inspect opens the disks read-only")
    }

    /// `inspect --json`'s first system's `windowsSummary`.
    func summary(_ json: [String: Any]) throws -> [String: Any] {
        let sys = try #require((json["systems"] as? [[String: Any]])?.first, "no system found")
        return try #require(sys["windowsSummary"] as? [String: Any], "no windowsSummary")
    }

    /// The Windows 10 hive's values, read with hivexregedit (see Tests/InspectionTests/RealHiveTests.swift
    /// for how): `[\HardwareConfig] "LastConfig"`, and MountedDevices decoded by hand from its hex.
    static let win10LastConfig = "25194d56-caef-8737-5c44-50fe82f3ffde"
    static let win10Mounted = [
        "#{46686113-4e39-11ea-bd05-784f439fa657} MBR df4546ae offset 149812510720",
        "#{5aae7822-77cb-11e9-bcf1-784f439fa657} MBR df4546ae offset 106862837760",
        "\\??\\Volume{2b8dca72-672e-11e7-bce1-806e6f6e6963} device \\??\\SCSI#CdRom&Ven_NECVMWar&Prod_VMware_SATA_CD01#5&2edf08dd&0&010000#{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}",
        "\\??\\Volume{629458e4-0000-0000-0000-010000000000} MBR 629458e4 offset 65536",
        "\\DosDevices\\C: MBR df4546ae offset 525336576",
        "\\DosDevices\\D: device \\??\\SCSI#CdRom&Ven_NECVMWar&Prod_VMware_SATA_CD01#5&2edf08dd&0&010000#{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}",
        "\\DosDevices\\E: MBR df4546ae offset 1048576",
        "\\DosDevices\\F: MBR 002b1be5 offset 1048576",
    ]

    @Test("real Windows 10 hive on an NTFS disk laid out as Windows knew it: exit 0 with the VM's UUID as LastConfig, exit 1 naming both UUIDs otherwise; USB, Hyper-V and VMware instances never fail")
    func realWindows10() throws {
        let hive = try WindowsImage.realHive("SYSTEM-win10-hyperv-vmware", into: box.dir)
        let vm = box.name("w10")
        let image = "\(vm)-system.qcow2"
        try box.disk(image, size: "600M")
        // The VMware disk the hive's C: and E: live on: MBR signature df4546ae, partitions at
        // byte 1048576 (sector 2048, E:) and 525336576 (sector 1026048, C:, the Windows tree).
        try WindowsImage.buildFromRealHive("\(box.dir)/\(image)", hive: hive, signature: 0xDF45_46AE,
                                           partitions: [(2048, 1_026_047), (1_026_048, 1_228_799)], systemPartition: 2)
        let launched = try box.vmserial("launch", try box.spec(vm, disks: [.init(name: "system", bus: "sata", file: image)],
                                                                 extra: ["uuid": Self.win10LastConfig.uppercased()]), "--no-start")
        try #require(launched.status == 0, "\(launched.all)")

        let r = try box.vmserial("inspect", "--domain", vm, "--json")
        #expect(r.status == 0, "the VM's UUID is LastConfig and nothing it caused disagrees: \(r.all)")
        let out = try box.json(r)
        let rows = Dictionary(findings(out).map { ($0.what, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(rows.values.filter { !$0.ok }.isEmpty, "\(rows.values.filter { !$0.ok })")
        #expect(rows["machine uuid (HardwareConfig LastConfig)"].map { $0.ok && !$0.info && $0.seen == Self.win10LastConfig } == true)
        #expect(rows["smbios table"]?.seen == "(not kept offline)")
        // 11 disk instances under Enum\SCSI and Enum\USBSTOR with the disk class GUID (hivexregedit), none QEMU's.
        #expect(rows["disk instances"]?.seen == "0 from the VM's buses, 11 from other hardware")
        #expect(rows["disk instance USBSTOR\\Disk&Ven_SanDisk&Prod_Cruzer&Rev_1.20\\200608767007B7C08A6A&0"]?.info == true)
        #expect(rows["MountedDevices \\DosDevices\\C:"].map { $0.ok && !$0.info && $0.detail == "disk system (sata sda) partition 2 at byte 525336576" } == true)
        #expect(rows["MountedDevices \\DosDevices\\E:"].map { $0.ok && !$0.info } == true)
        #expect(rows["MountedDevices \\DosDevices\\F:"]?.info == true)
        #expect(rows["disk system"]?.seen == "MBR df4546ae", "libguestfs reads back the signature the test wrote")
        #expect(out.disk("system")?["partitionTable"].flatMap { ($0 as? [String: Any])?["mbrSignature"] as? String } == "df4546ae")
        let s = try summary(out)
        #expect(s["machineLastConfig"] as? String == Self.win10LastConfig)
        #expect(s["diskInstances"] as? [String] == [])
        #expect((s["otherDiskInstances"] as? [String])?.count == 11)
        #expect(s["mountedDevices"] as? [String] == Self.win10Mounted.sorted())
        #expect(s["sanPolicy"] as? String == "OnlineAll")

        // The same disk under a VM with its own UUID: Windows will take it for new hardware.
        let other = box.name("w10b")
        let copy = "\(other)-system.qcow2"
        try FileManager.default.copyItem(atPath: "\(box.dir)/\(image)", toPath: "\(box.dir)/\(copy)")
        let launched2 = try box.vmserial("launch", try box.spec(other, disks: [.init(name: "system", bus: "virtio", file: copy)]), "--no-start")
        try #require(launched2.status == 0, "\(launched2.all)")
        let uuid = try serials(other).uuid.lowercased()
        #expect(uuid != Self.win10LastConfig)
        let t = try box.vmserial("inspect", "--domain", other)
        #expect(t.status == 1, "\(t.all)")
        let fail = t.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL ") }
        #expect(fail.count == 1, "only the machine UUID fails: \(fail)")
        #expect(fail.first.map { $0.contains(Self.win10LastConfig) && $0.contains(uuid) } == true, "both UUIDs named: \(t.stdout)")
    }

    @Test("real Windows 7 hive: no HardwareConfig, so the UUID is not judged (said so); C: on the current disk; exit 0")
    func realWindows7() throws {
        let hive = try WindowsImage.realHive("SYSTEM-win7-vmware", into: box.dir)
        let vm = box.name("w7")
        let image = "\(vm)-system.qcow2"
        try box.disk(image, size: "600M")
        // MountedDevices' \DosDevices\C: = 3e,a0,be,5c,00,00,10,00,00,00,00,00 (hivexregedit):
        // signature 5cbea03e, partition at byte 1048576.
        try WindowsImage.buildFromRealHive("\(box.dir)/\(image)", hive: hive, signature: 0x5CBE_A03E,
                                           partitions: [(2048, 1_228_799)], systemPartition: 1)
        let launched = try box.vmserial("launch", try box.spec(vm, disks: [.init(name: "system", bus: "sata", file: image)]), "--no-start")
        try #require(launched.status == 0, "\(launched.all)")
        let r = try box.vmserial("inspect", "--domain", vm, "--json")
        #expect(r.status == 0, "\(r.all)")
        let out = try box.json(r)
        let rows = Dictionary(findings(out).map { ($0.what, $0) }, uniquingKeysWith: { a, _ in a })
        let machine = try #require(rows["machine uuid (HardwareConfig)"])
        #expect(machine.info && machine.seen == "(not recorded)" && machine.detail.contains("cannot be judged"))
        #expect(rows["disk instances"]?.seen == "0 from the VM's buses, 3 from other hardware")
        #expect(rows["MountedDevices \\DosDevices\\C:"].map { $0.ok && !$0.info } == true)
        let s = try summary(out)
        #expect(s["machineLastConfig"] == nil)
        #expect((s["mountedDevices"] as? [String])?.count == 11)
        #expect((s["mountedDevices"] as? [String])?.contains("\\DosDevices\\C: MBR 5cbea03e offset 1048576") == true)
    }

    /// sfdisk (util-linux's fdisk package) writes the tables, with the signature and GUIDs the
    /// test chooses; libguestfs reads them back through `PartitionTable.read`, as inspect does.
    @Test("partition tables read through libguestfs: the MBR signature, GPT disk and partition GUIDs and offsets sfdisk wrote",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/sbin/sfdisk"), "needs sfdisk (Debian's fdisk)"))
    func partitionTables() throws {
        let mbr = "\(box.dir)/mbr.img", gpt = "\(box.dir)/gpt.img", blank = "\(box.dir)/blank.img"
        for img in [mbr, gpt, blank] { try box.disk((img as NSString).lastPathComponent, format: "raw", size: "32M") }
        let script: [(String, String)] = [
            (mbr, "label: dos\nlabel-id: 0xdf4546ae\nstart=2048, size=20480, type=7\nstart=22528, type=7\n"),
            (gpt, "label: gpt\nlabel-id: 105B8CA0-63EE-11EA-833A-00155DB3981D\n"
                + "start=2048, size=20480, uuid=105B8CA1-63EE-11EA-833A-00155DB3981D\n"
                + "start=22528, size=20480, uuid=5B37BA1C-C325-4CF3-8BD0-570885BA640D\n"),
        ]
        for (img, table) in script {
            let r = try run("/bin/sh", ["-c", "printf '\(table)' | /sbin/sfdisk -q \"$0\"", img])
            try #require(r.status == 0, "sfdisk \(img): \(r.all)")
        }
        let g = try Guestfs(options: WindowsImage.options)
        defer { g.close() }
        for img in [mbr, gpt, blank] { try g.addDrive(img, format: "raw", readonly: true) }
        try g.launch()
        let tables = try GuestInspector.partitionTables(g)
        try g.shutdown()
        #expect(tables[0] == PartitionTable(style: "mbr", mbrSignature: "df4546ae",
                                            partitions: [.init(offset: 2048 * 512, number: 1), .init(offset: 22528 * 512, number: 2)]))
        #expect(tables[1] == PartitionTable(style: "gpt", gptDiskGUID: "105b8ca0-63ee-11ea-833a-00155db3981d", partitions: [
            .init(offset: 2048 * 512, gptGUID: "105b8ca1-63ee-11ea-833a-00155db3981d", number: 1),
            .init(offset: 22528 * 512, gptGUID: "5b37ba1c-c325-4cf3-8bd0-570885ba640d", number: 2),
        ]))
        #expect(tables[2] == PartitionTable(style: "none"), "a blank disk has no partition table, and that is not an error")
        // What Windows' MountedDevices would name on them.
        #expect(tables[0]?.partition(for: MountedDevice(name: "\\DosDevices\\C:", data: MountedDevice.mbrValue(signature: 0xDF45_46AE, offset: 22528 * 512)))?.number == 2)
        let gptLetter = MountedDevice(name: "\\DosDevices\\D:", data: try #require(MountedDevice.gptValue(partitionGUID: "5b37ba1c-c325-4cf3-8bd0-570885ba640d")))
        #expect(tables[1]?.partition(for: gptLetter)?.number == 2)
    }

    @Test("no such domain, no registry entry, no registry: exit 2 with the fix")
    func badInput() throws {
        let unknown = try box.vmserial("inspect", "--domain", "it-nonexistent-\(box.tag)")
        #expect(unknown.status == 2, "\(unknown.all)")
        #expect(unknown.stderr.contains("no registry") || unknown.stderr.contains("no record"), "\(unknown.stderr)")

        let vm = box.name("bad")
        let launched = try box.vmserial("launch", try box.spec(vm, disks: [.init(name: "root", bus: "virtio")]), "--no-start")
        try #require(launched.status == 0, "\(launched.all)")
        let notInRegistry = try box.vmserial("inspect", "--domain", "it-other-\(box.tag)")
        #expect(notInRegistry.status == 2)
        #expect(notInRegistry.stderr.contains("vmserial has no record of it-other-\(box.tag)"), "\(notInRegistry.stderr)")
        #expect(notInRegistry.stderr.contains("vmserial launch SPEC"))

        try box.connection.lookupDomain(name: vm).undefine()
        let gone = try box.vmserial("inspect", "--domain", vm)
        #expect(gone.status == 2)
        #expect(gone.stderr.contains("has no domain \(vm)"), "\(gone.stderr)")

        let elsewhere = try run(try vmserialBinary(), ["inspect", "--domain", vm, "--registry", box.dir + "/missing.sqlite"],
                                env: ["LIBVIRT_DEFAULT_URI": libvirtURI])
        #expect(elsewhere.status == 2)
        #expect(elsewhere.stderr.contains("no registry at"), "\(elsewhere.stderr)")
    }

    @Test("the table shows disks with their systems, one row per finding, and the failures' reasons")
    func table() {
        let report = InspectReport(domain: "vm1", running: true, warnings: ["vm1 is running"], disks: [
            .init(name: "root", target: "vda", bus: "virtio", serial: "VS1", source: "/r.qcow2", format: "qcow2", systems: ["/dev/sda1"]),
            .init(name: "data", target: "sda", bus: "scsi", serial: "M1", source: "/d.qcow2", format: "qcow2", systems: []),
        ], systems: [
            .init(root: "/dev/sda1", disk: "root", type: "linux", distro: "debian", productName: "Debian GNU/Linux 12", version: "12.0",
                  hostname: "h", findings: [
                      Finding(what: "fstab /data", expected: "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_M1", seen: "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_M1", ok: true),
                      Finding(what: "fstab /old", expected: "virtio-VS1", seen: "/dev/disk/by-id/virtio-OLD", ok: false, detail: "will not be found at boot"),
                      Finding(what: "fstab /wwn", expected: "", seen: "/dev/disk/by-id/wwn-0x1", ok: true, info: true),
                  ], entries: [], windows: nil),
        ])
        let t = report.table()
        #expect(!report.ok)
        #expect(t.contains("root  vda     virtio  VS1     linux Debian GNU/Linux 12 12.0 at /dev/sda1"), "\(t)")
        #expect(t.contains("data  sda     scsi    M1      (no operating system)"), "\(t)")
        #expect(t.contains("FAIL /dev/sda1 fstab /old: will not be found at boot"))
        #expect(t.contains("WARNING vm1 is running"))
        #expect(t.contains("vm1: FAILED: 1 operating system; 1 of 2 recorded identities match the registry; 1 listed"))
        let lines = t.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("/dev/sda1") && $0.contains("fstab /wwn") && $0.hasSuffix("info") })
        #expect(lines.contains { $0.hasPrefix("/dev/sda1") && $0.contains("fstab /old") && $0.hasSuffix("FAIL") })
    }
}
}
