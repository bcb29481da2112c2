import DomainXML
import Testing
@testable import Verifier

typealias Slot = DeviceLocation.PCISlot

@Suite("Device locations")
struct LocationTests {
    @Test func virtio() {
        let l = GuestLocation(sysfsPath: "/sys/devices/pci0000:00/0000:00:04.0/virtio1/block/vda", ataPort: nil).location
        #expect(l == DeviceLocation(pciPath: [Slot(4, 0)]))
    }

    @Test func scsi() {
        let l = GuestLocation(sysfsPath: "/sys/devices/pci0000:00/0000:00:05.0/virtio2/host0/target0:0:1/0:0:1:0/block/sda", ataPort: nil).location
        #expect(l == DeviceLocation(pciPath: [Slot(5, 0)], scsi: .init(channel: 0, target: 1, lun: 0)))
        #expect(l?.description == "pci 05.0 scsi 0:1:0")
    }

    @Test func sataWithATAPort() {
        let l = GuestLocation(sysfsPath: "/sys/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0/block/sdb", ataPort: 3).location
        // The kernel's port_no is 1-based, libvirt's unit 0-based; the SCSI address of an ATA disk is not used.
        #expect(l == DeviceLocation(pciPath: [Slot(0x1f, 2)], ataPort: 2))
        #expect(l?.description == "pci 1f.2 ata port 2")
    }

    @Test func nvme() {
        let l = GuestLocation(sysfsPath: "/sys/devices/pci0000:00/0000:00:05.0/nvme/nvme0/nvme0n1", ataPort: nil).location
        #expect(l == DeviceLocation(pciPath: [Slot(5, 0)]))
    }

    @Test func q35BehindARootPort() {
        let l = GuestLocation(sysfsPath: "/sys/devices/pci0000:00/0000:00:02.1/0000:02:00.0/virtio3/block/vda", ataPort: nil).location
        #expect(l == DeviceLocation(pciPath: [Slot(2, 1), Slot(0, 0)]))
        #expect(l?.description == "pci 02.1/00.0")
    }

    @Test func notOnPCI() {
        #expect(GuestLocation(sysfsPath: "/sys/devices/virtual/block/loop0", ataPort: nil).location == nil)
        #expect(GuestLocation(sysfsPath: "", ataPort: nil).location == nil)
    }

    @Test func recordedPathsPlaceEveryDevice() throws {
        let r = try ProbeReport.parse(try fixture("report-pc-4bus.txt"))
        #expect(r.devices.map(\.location.location) == [
            DeviceLocation(pciPath: [Slot(5, 0)]),
            DeviceLocation(pciPath: [Slot(3, 0)], scsi: .init(channel: 0, target: 0, lun: 1)),
            DeviceLocation(pciPath: [Slot(4, 0)], ataPort: 2),
            DeviceLocation(pciPath: [Slot(2, 0)]),
        ])
    }

    /// q35 as libvirt lays it out: the disk on bus 2, behind the pcie-root-port (index 2) at 00:02.1.
    func q35Domain() -> Domain {
        var d = Domain(type: "qemu", name: "q", memoryKiB: 1024, vcpus: 1, os: .init(machine: "pc-q35-7.2"))
        d.devices.controllers = [
            Controller(type: "pci", index: 0, model: "pcie-root"),
            Controller(type: "pci", index: 1, model: "pcie-root-port", address: .pci(bus: 0, slot: 2, function: 0)),
            Controller(type: "pci", index: 2, model: "pcie-root-port", address: .pci(bus: 0, slot: 2, function: 1)),
            Controller(type: "pci", index: 3, model: "pcie-root-port", address: .pci(bus: 0, slot: 2, function: 2)),
            Controller(type: "scsi", index: 0, model: "virtio-scsi", address: .pci(bus: 3, slot: 0)),
            Controller(type: "sata", index: 0, address: .pci(bus: 0, slot: 0x1f, function: 2)),
        ]
        d.devices.disks = [
            Disk(driverType: "raw", source: "/a", targetDev: "vda", targetBus: "virtio", serial: nil, address: .pci(bus: 2, slot: 0)),
            Disk(driverType: "raw", source: "/b", targetDev: "sda", targetBus: "scsi", serial: nil, address: .drive(controller: 0, target: 1, unit: 0)),
            Disk(driverType: "raw", source: "/c", targetDev: "sdb", targetBus: "sata", serial: nil, address: .drive(controller: 0, unit: 2)),
        ]
        return d
    }

    @Test func domainLocationBehindARootPortMatchesTheGuest() throws {
        let d = q35Domain()
        let domainSide = try DomainLocations.location(of: d.devices.disks[0], in: d)
        let guestSide = GuestLocation(sysfsPath: "/sys/devices/pci0000:00/0000:00:02.1/0000:02:00.0/virtio3/block/vda", ataPort: nil).location
        #expect(domainSide == DeviceLocation(pciPath: [Slot(2, 1), Slot(0, 0)]))
        #expect(domainSide == guestSide)
    }

    @Test func domainLocationOfSCSIAndSATA() throws {
        let d = q35Domain()
        #expect(try DomainLocations.location(of: d.devices.disks[1], in: d)
                == DeviceLocation(pciPath: [Slot(2, 2), Slot(0, 0)], scsi: .init(channel: 0, target: 1, lun: 0)))
        #expect(try DomainLocations.location(of: d.devices.disks[1], in: d)
                == GuestLocation(sysfsPath: "/sys/devices/pci0000:00/0000:00:02.2/0000:03:00.0/virtio2/host0/target0:0:1/0:0:1:0/block/sda", ataPort: nil).location)
        #expect(try DomainLocations.location(of: d.devices.disks[2], in: d) == DeviceLocation(pciPath: [Slot(0x1f, 2)], ataPort: 2))
    }

    @Test func domainLocationFailures() {
        var d = q35Domain()
        var noAddress = d.devices.disks[0]
        noAddress.address = nil
        #expect(throws: DomainLocations.Failure.noAddress(disk: "vda")) { try DomainLocations.location(of: noAddress, in: d) }
        var missingBridge = d.devices.disks[0]
        missingBridge.address = .pci(bus: 7, slot: 0)
        #expect(throws: DomainLocations.Failure.badBridge(index: 7)) { try DomainLocations.location(of: missingBridge, in: d) }
        var otherController = d.devices.disks[1]
        otherController.address = .drive(controller: 1, unit: 0)
        #expect(throws: DomainLocations.Failure.noController(disk: "sda", type: "scsi", index: 1)) {
            try DomainLocations.location(of: otherController, in: d)
        }
        d.devices.controllers.removeAll { $0.type == "sata" }
        #expect(throws: DomainLocations.Failure.noController(disk: "sdb", type: "sata", index: 0)) {
            try DomainLocations.location(of: d.devices.disks[2], in: d)
        }
        #expect(DomainLocations.Failure.badBridge(index: 7).description.contains("7"))
    }

    @Test func domainLocationFromLibvirtXML() throws {
        let xml = """
            <domain type='qemu'>
              <name>q</name>
              <memory unit='KiB'>524288</memory>
              <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
              <devices>
                <disk type='file' device='disk'>
                  <driver name='qemu' type='raw'/>
                  <source file='/a.img'/>
                  <target dev='vda' bus='virtio'/>
                  <serial>VSAAAAAAAAAAAAAAAAAA</serial>
                  <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
                </disk>
                <controller type='pci' index='0' model='pcie-root'/>
                <controller type='pci' index='2' model='pcie-root-port'>
                  <model name='pcie-root-port'/>
                  <target chassis='2' port='0x9'/>
                  <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x1'/>
                </controller>
              </devices>
            </domain>
            """
        let d = try Domain(xml: xml)
        #expect(try DomainLocations.location(of: d.devices.disks[0], in: d) == DeviceLocation(pciPath: [Slot(2, 1), Slot(0, 0)]))
    }
}
