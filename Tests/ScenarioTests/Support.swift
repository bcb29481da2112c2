import DomainXML
import Foundation
import Testing

/// A folder with the files a VM spec names (empty stand-ins: the parser only checks they exist).
final class SpecFolder {
    let dir: String
    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("scenario-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in ["vmlinuz", "initrd.img", "root.qcow2", "data.qcow2", "logs.qcow2"] {
            _ = FileManager.default.createFile(atPath: "\(dir)/\(f)", contents: Data("x".utf8))
        }
        try Data("""
        {"name": "vm1", "boot": {"kernel": "vmlinuz", "initrd": "initrd.img"},
         "disks": [{"name": "root", "source": "root.qcow2", "format": "qcow2"},
                   {"name": "data", "source": "data.qcow2", "format": "qcow2"},
                   {"name": "logs", "source": "logs.qcow2", "format": "qcow2", "bus": "sata"}]}
        """.utf8).write(to: URL(fileURLWithPath: "\(dir)/vm.json"))
    }
    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
    }
    var path: String { "\(dir)/scenario.json" }
}

/// The recorded probe reports of VerifierTests (real guest output, see their README).
func recordedReport(_ name: String) throws -> String {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("VerifierTests/Fixtures/\(name)")
    return try String(contentsOf: url, encoding: .utf8)
}

/// The domain of the recorded `report-pc-4bus.txt` run (see VerifierTests/Fixtures/README.md):
/// virtio at 00:02.0, virtio-scsi at 00:03.0 (unit 1), AHCI at 00:04.0 (port 2), NVMe at 00:05.0.
func recordedPCDomain() -> Domain {
    var d = Domain(type: "qemu", name: "vm1", uuid: "5a1e0c2d-3b4f-4a6e-9c8d-7e6f5a4b3c2d", memoryKiB: 524_288, vcpus: 1,
                   os: .init(machine: "pc-i440fx-7.2"))
    var nvme = Disk(driverType: "qcow2", source: "/srv/d3.qcow2", targetDev: "vdb", targetBus: "virtio", serial: "NVMESERIAL01",
                    address: .pci(bus: 0, slot: 5))
    nvme.alias = QemuDeviceOverride.nvmeAlias(target: "vdb")
    d.devices.disks = [
        Disk(driverType: "qcow2", source: "/srv/d0.qcow2", targetDev: "vda", targetBus: "virtio", serial: "VIRTIOSERIAL0001",
             address: .pci(bus: 0, slot: 2)),
        Disk(driverType: "qcow2", source: "/srv/d1.qcow2", targetDev: "sda", targetBus: "scsi", serial: "x", address: .drive(controller: 0, unit: 1)),
        Disk(driverType: "qcow2", source: "/srv/d2.qcow2", targetDev: "sdb", targetBus: "sata", serial: "SATASERIAL01", address: .drive(controller: 0, unit: 2)),
        nvme,
    ]
    d.devices.controllers = [
        Controller(type: "pci", index: 0, model: "pci-root"),
        Controller(type: "scsi", index: 0, model: "virtio-scsi", address: .pci(bus: 0, slot: 3)),
        Controller(type: "sata", index: 0, address: .pci(bus: 0, slot: 4)),
    ]
    d.qemuOverrides = [.nvme(target: "vdb")]
    return d
}
