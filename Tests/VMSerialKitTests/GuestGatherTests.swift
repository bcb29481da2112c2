import Foundation
import ProcessRunner
import Testing
@testable import VMSerialKit

/// The gathering shared by the probe's /init and the in-guest reporter (images/gather.sh),
/// tested once: run by real shells against a fake sysfs tree whose serials the test wrote.
@Suite("guest gathering (images/gather.sh)")
struct GuestGatherTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    @Test("the reporter embeds images/gather.sh as it is: run `sh images/gen-gather-swift.sh` after editing it")
    func generatedCopyIsCurrent() throws {
        let source = try String(contentsOfFile: Self.packageRoot + "/images/gather.sh", encoding: .utf8)
        #expect(GuestGather.functions == source)
        #expect(GuestReporter.script.contains(GuestGather.functions))
        let probe = try String(contentsOfFile: Self.packageRoot + "/images/probe-init", encoding: .utf8)
        #expect(probe.contains(". \"$GATHER\""), "the probe sources the same file")
    }

    /// The shells the reporter must run under, those installed here.
    static let shells: [[String]] = [["/bin/sh"], ["/bin/dash"], ["/bin/bash"], ["/usr/bin/busybox", "sh"], ["/bin/busybox", "sh"]]
        .filter { FileManager.default.isExecutableFile(atPath: $0[0]) }

    @Test("the reporter parses", arguments: shells)
    func reporterParses(shell: [String]) throws {
        let result = try Command(shell[0], Array(shell.dropFirst()) + ["-n"], input: .data(Data(GuestReporter.script.utf8))).run()
        #expect(result.succeeded, "\(result.errorOutput)")
    }

    @Test("a fake sysfs tree gives one line per hardware disk with its serial, the SMBIOS line and the by-id links",
          arguments: shells)
    func fakeSysfs(shell: [String]) throws {
        let tree = try FakeSysfs()
        defer { tree.remove() }
        let driver = """
            addline() { printf '%s\\n' "$1"; }
            GATHER_SYSFS='\(tree.root)/sys'
            GATHER_BYID='\(tree.root)/byid'
            want_disks=4
            smbios_line
            settle_disks
            disk_lines
            byid_lines
            """
        let result = try Command(shell[0], Array(shell.dropFirst()) + ["-c", GuestGather.functions + "\n" + driver]).run()
        #expect(result.succeeded, "\(result.errorOutput)")
        #expect(result.output.split(separator: "\n").map(String.init) == tree.expectedLines)
    }
}

/// A sysfs tree as QEMU's devices make it (four buses, a loop and a device-mapper device that
/// must be skipped), with DMI and by-id links, and the report lines it must give.
struct FakeSysfs {
    let root: String
    var expectedLines: [String] = []

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    init() throws {
        let made = NSTemporaryDirectory() + "vmserial-sysfs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: made, withIntermediateDirectories: true)
        root = URL(fileURLWithPath: made).resolvingSymlinksInPath().path
        let fm = FileManager.default
        func file(_ path: String, _ bytes: [UInt8]) throws {
            try fm.createDirectory(atPath: (root + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            #expect(fm.createFile(atPath: root + path, contents: Data(bytes)))
        }
        func folder(_ path: String) throws { try fm.createDirectory(atPath: root + path, withIntermediateDirectories: true) }
        func link(_ path: String, to target: String) throws {
            try fm.createDirectory(atPath: (root + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try fm.createSymbolicLink(atPath: root + path, withDestinationPath: target)
        }
        /// A VPD page 0x80: 4-byte header with the page length in bytes 2-3, the serial, and
        /// bytes past the page length that must not be read as serial.
        func vpd80(_ serial: String) -> [UInt8] {
            let s = Array(serial.utf8)
            return [0x00, 0x80, 0x00, UInt8(s.count)] + s + [0x00, 0x00]
        }

        try file("/sys/class/dmi/id/product_serial", Array("VMS-SMBIOS-1\n".utf8))
        try file("/sys/class/dmi/id/product_uuid", Array("2F0B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D\n".utf8))
        expectedLines.append("smbios serial=\(Self.hex("VMS-SMBIOS-1".utf8)) uuid=2f0b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")

        // Skipped: a loop device, and a device-mapper disk (virtual: not the VM's hardware).
        try folder("/sys/devices/virtual/block/loop0")
        try link("/sys/block/loop0", to: "../devices/virtual/block/loop0")
        try folder("/sys/devices/virtual/block/dm-0")
        try link("/sys/block/dm-0", to: "../devices/virtual/block/dm-0")

        // NVMe: the controller's serial, space-padded to 20, plus the kernel's newline.
        let nvme = "/sys/devices/pci0000:00/0000:00:06.0/nvme/nvme0"
        try file(nvme + "/serial", Array("NVME-SERIAL-1       \n".utf8))
        try folder(nvme + "/nvme0n1")
        try link(nvme + "/nvme0n1/device", to: "../../nvme0")
        try link("/sys/block/nvme0n1", to: "..\(nvme.dropFirst(4))/nvme0n1")
        expectedLines.append("disk name=nvme0n1 bus=nvme path=\(root)\(nvme)/nvme0n1 serial=\(Self.hex("NVME-SERIAL-1       ".utf8)) ataport=")

        // virtio-scsi: VPD page 0x80.
        let scsi = "/sys/devices/pci0000:00/0000:00:05.0/virtio2/host0/target0:0:0/0:0:0:0"
        try file(scsi + "/vpd_pg80", vpd80("SCSI-SERIAL-0123456789-ABCDEFGHIJ"))
        try folder(scsi + "/block/sda")
        try link(scsi + "/block/sda/device", to: "../../../0:0:0:0")
        try link("/sys/block/sda", to: "..\(scsi.dropFirst(4))/block/sda")
        expectedLines.append("disk name=sda bus=scsi path=\(root)\(scsi)/block/sda serial=\(Self.hex("SCSI-SERIAL-0123456789-ABCDEFGHIJ".utf8)) ataport=")

        // SATA (AHCI): VPD page 0x80 with the IDENTIFY serial padded to 20, and the ATA port number.
        let sata = "/sys/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0"
        try file(sata + "/vpd_pg80", vpd80("SATA-SERIAL-1       "))
        try folder(sata + "/block/sdb")
        try link(sata + "/block/sdb/device", to: "../../../2:0:0:0")
        try link("/sys/block/sdb", to: "..\(sata.dropFirst(4))/block/sdb")
        try file("/sys/class/ata_port/ata3/port_no", Array("3\n".utf8))
        expectedLines.append("disk name=sdb bus=sata path=\(root)\(sata)/block/sdb serial=\(Self.hex("SATA-SERIAL-1       ".utf8)) ataport=3")

        // virtio-blk: the serial attribute without a newline.
        let virtio = "/sys/devices/pci0000:00/0000:00:04.0/virtio1/block/vda"
        try file(virtio + "/serial", Array("VS0123456789ABCDEFGH".utf8))
        try link("/sys/block/vda", to: "..\(virtio.dropFirst(4))")
        expectedLines.append("disk name=vda bus=virtio path=\(root)\(virtio) serial=\(Self.hex("VS0123456789ABCDEFGH".utf8)) ataport=")

        // by-id links, one with a space and a backslash in its name (written as \xNN).
        try file("/dev/vda", [])
        try file("/dev/sdb", [])
        try link("/byid/ata-QEMU_HARDDISK_SATA-SERIAL-1", to: root + "/dev/sdb")
        try link("/byid/odd name\\x", to: root + "/dev/sdb")
        try link("/byid/virtio-VS0123456789ABCDEFGH", to: root + "/dev/vda")
        expectedLines += ["byid name=ata-QEMU_HARDDISK_SATA-SERIAL-1 target=sdb",
                          "byid name=odd\\x20name\\x5cx target=sdb",
                          "byid name=virtio-VS0123456789ABCDEFGH target=vda"]
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}
