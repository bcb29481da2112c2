import DomainXML
import Foundation
import Testing
@testable import VMSerialKit

/// The copy a scenario makes of an existing domain: its own name and UUID, overlays, nothing shared.
@Suite struct ScenarioDomainCopyTests {
    @Test("the copy keeps every device but drops UUID, MACs and NVRAM, and sits on overlays")
    func copyDefinition() throws {
        let sysinfo = "<sysinfo type='smbios'><system><entry name='serial'>\(AdoptTests.uuid)</entry><entry name='uuid'>\(AdoptTests.uuid)</entry></system></sysinfo>"
        var xml = AdoptTests.definition(smbios: "<smbios mode='sysinfo'/>", sysinfo: sysinfo)
        xml = xml.replacingOccurrences(of: "<boot dev='hd'/>", with: "<boot dev='hd'/><nvram>/var/lib/libvirt/qemu/nvram/web1_VARS.fd</nvram>")
        let original = try XElement.parse(xml)
        var asked: [String] = []
        let (copy, serialWasUUID) = try ScenarioDomainCopy.definition(original, name: "web1-scn-x") { source, format, target in
            asked.append("\(target) \(format) \(source)")
            return "/run/\(target).qcow2"
        }
        #expect(serialWasUUID)
        #expect(asked == ["vda qcow2 /var/lib/libvirt/images/web1-a.qcow2", "sda qcow2 /var/lib/libvirt/images/web1-b.qcow2",
                          "sdb raw /dev/vg0/web1-c", "vdb raw /var/lib/libvirt/images/web1-d.img"])
        let d = try Domain(element: copy)
        #expect(d.name == "web1-scn-x" && d.uuid == nil)
        #expect(d.sysinfo?.system.map(\.name) == ["serial"])
        #expect(!copy.rendered().contains("nvram") && !copy.rendered().contains("52:54:00:c5:33:ba"))
        #expect(d.devices.disks.filter { $0.device == "disk" }.map(\.source) == ["/run/vda.qcow2", "/run/sda.qcow2", "/run/sdb.qcow2", "/run/vdb.qcow2"])
        #expect(d.devices.disks.filter { $0.device == "disk" }.allSatisfy { $0.type == "file" && $0.driverType == "qcow2" })
        #expect(try d.devices.disks.map(\.serial) == Domain(element: original).devices.disks.map(\.serial), "serials as they are")
        // Every other device is the original's.
        #expect(d.devices.other.filter { $0.name != "interface" } == (try Domain(element: original)).devices.other.filter { $0.name != "interface" })
        #expect(d.qemuOverrides == (try Domain(element: original)).qemuOverrides)
    }
}
