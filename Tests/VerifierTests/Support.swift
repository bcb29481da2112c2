import DomainXML
import Foundation
import Testing
@testable import Verifier

/// A recorded probe output from Fixtures/, byte for byte (read as Latin-1, as the verifier does).
func fixture(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    let url = try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/\(name)"),
                           "no resource folder", sourceLocation: sourceLocation)
    let data = try Data(contentsOf: url)
    return try #require(String(data: data, encoding: .isoLatin1), sourceLocation: sourceLocation)
}

func hex(_ s: String) -> String { s.utf8.map { String(format: "%02x", $0) }.joined() }

/// A report in the probe's format (images/README.md), LF line endings.
func reportText(version: Int = 1, smbiosSerial: String = "VMS-SMBIOS-1", uuid: String = "5a1e0c2d-3b4f-4a6e-9c8d-7e6f5a4b3c2d",
                disks: [(name: String, bus: String, path: String, serial: String, ataport: String)], lines: Int? = nil) -> String {
    var body = ["smbios serial=\(hex(smbiosSerial)) uuid=\(uuid)"]
    body += disks.map { "disk name=\($0.name) bus=\($0.bus) path=\($0.path) serial=\(hex($0.serial)) ataport=\($0.ataport)" }
    return (["VMSERIAL-REPORT-BEGIN version=\(version)"] + body + ["VMSERIAL-REPORT-END lines=\(lines ?? body.count)"])
        .joined(separator: "\n") + "\n"
}

/// Paths of the recorded pc run (Fixtures/report-pc-4bus.txt).
enum PC {
    static let nvme = "/sys/devices/pci0000:00/0000:00:05.0/nvme/nvme0/nvme0n1"
    static let scsi = "/sys/devices/pci0000:00/0000:00:03.0/virtio1/host0/target0:0:0/0:0:0:1/block/sda"
    static let sata = "/sys/devices/pci0000:00/0000:00:04.0/ata3/host3/target3:0:0/3:0:0:0/block/sdb"
    static let virtio = "/sys/devices/pci0000:00/0000:00:02.0/virtio0/block/vda"
}

let pcUUID = "5a1e0c2d-3b4f-4a6e-9c8d-7e6f5a4b3c2d"
let scsiSerial = "SCSI-SERIAL-0123456789-ABCDEFGHIJKLM"

/// The libvirt domain that the recorded pc run corresponds to: virtio at 00:02.0, virtio-scsi at
/// 00:03.0 (disk at 0:0:1), AHCI at 00:04.0 (disk on port 2), NVMe at 00:05.0.
func pcDomain(machine: String = "pc-i440fx-7.2", slots: (virtio: Int, scsi: Int, sata: Int, nvme: Int) = (2, 3, 4, 5),
              serials: [String: String] = [:]) -> Domain {
    var d = Domain(type: "qemu", name: "vm1", uuid: pcUUID, memoryKiB: 524_288, vcpus: 1, os: .init(machine: machine))
    var nvme = Disk(driverType: "qcow2", source: "/srv/d3.qcow2", targetDev: "vdb", targetBus: "virtio",
                    serial: serials["vdb"] ?? "NVMESERIAL01", address: .pci(bus: 0, slot: slots.nvme))
    nvme.alias = QemuDeviceOverride.nvmeAlias(target: "vdb")
    d.devices.disks = [
        Disk(driverType: "qcow2", source: "/srv/d0.qcow2", targetDev: "vda", targetBus: "virtio",
             serial: serials["vda"] ?? "VIRTIOSERIAL0001", address: .pci(bus: 0, slot: slots.virtio)),
        Disk(driverType: "qcow2", source: "/srv/d1.qcow2", targetDev: "sda", targetBus: "scsi",
             serial: serials["sda"] ?? scsiSerial, address: .drive(controller: 0, unit: 1)),
        Disk(driverType: "qcow2", source: "/srv/d2.qcow2", targetDev: "sdb", targetBus: "sata",
             serial: serials["sdb"] ?? "SATASERIAL01", address: .drive(controller: 0, unit: 2)),
        nvme,
    ]
    d.devices.controllers = [
        Controller(type: "pci", index: 0, model: machine.contains("q35") ? "pcie-root" : "pci-root"),
        Controller(type: "scsi", index: 0, model: "virtio-scsi", address: .pci(bus: 0, slot: slots.scsi)),
        Controller(type: "sata", index: 0, address: .pci(bus: 0, slot: slots.sata, function: slots.sata == 0x1f ? 2 : 0)),
    ]
    d.qemuOverrides = [.nvme(target: "vdb")]
    return d
}

/// What the registry would say for the pc run.
func pcExpected(smbiosSerial: String? = "VMS-SMBIOS-1", uuid: String = pcUUID, serials: [String: String] = [:]) -> ExpectedIdentity {
    ExpectedIdentity(uuid: uuid, smbiosSerial: smbiosSerial, disks: [
        ExpectedDisk(name: "root", bus: .virtio, target: "vda", serial: serials["vda"] ?? "VIRTIOSERIAL0001"),
        ExpectedDisk(name: "data", bus: .scsi, target: "sda", serial: serials["sda"] ?? scsiSerial),
        ExpectedDisk(name: "share", bus: .sata, target: "sdb", serial: serials["sdb"] ?? "SATASERIAL01"),
        ExpectedDisk(name: "fast", bus: .nvme, target: "vdb", serial: serials["vdb"] ?? "NVMESERIAL01"),
    ])
}
