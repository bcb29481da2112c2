import Foundation
import Libvirt
import Testing
@testable import VMSerialKit

/// What a failed launch leaves in libvirt, on libvirt's in-memory driver; every expected
/// state is read back from libvirt itself.
@Suite("LibvirtUndo")
struct LibvirtUndoTests {
    static func xml(_ name: String, uuid: String, memoryKiB: Int) -> String {
        """
        <domain type='test'><name>\(name)</name><uuid>\(uuid)</uuid>
        <memory unit='KiB'>\(memoryKiB)</memory><os><type>hvm</type></os></domain>
        """
    }

    static func scratch() -> (name: String, uuid: String) {
        let uuid = UUID().uuidString.lowercased()
        return ("undo-\(uuid.prefix(8))", uuid)
    }

    static func memoryKiB(_ connection: Connection, _ name: String) throws -> String? {
        let xml = try connection.lookupDomain(name: name).xmlDesc(inactive: true)
        return xml.range(of: #"<memory unit='KiB'>(\d+)</memory>"#, options: .regularExpression).map { String(xml[$0]) }
    }

    @Test("a new definition is undefined again")
    func newDefinitionUndefined() throws {
        let connection = try Connection(uri: "test:///default")
        let vm = Self.scratch()
        let undo = LibvirtUndo(connection: connection, name: vm.name)
        undo.arm(previousXML: nil)
        _ = try connection.defineDomain(xml: Self.xml(vm.name, uuid: vm.uuid, memoryKiB: 65536))
        #expect(undo.run() == "\(vm.name) is not defined")
        #expect(try !connection.domainExists(name: vm.name))
        #expect(undo.run() == nil, "it runs once")
    }

    @Test("a redefinition gives the previous definition back")
    func redefinitionRestored() throws {
        let connection = try Connection(uri: "test:///default")
        let vm = Self.scratch()
        let previous = Self.xml(vm.name, uuid: vm.uuid, memoryKiB: 65536)
        _ = try connection.defineDomain(xml: previous)
        let undo = LibvirtUndo(connection: connection, name: vm.name)
        undo.arm(previousXML: try connection.lookupDomain(name: vm.name).xmlDesc(inactive: true))
        _ = try connection.defineDomain(xml: Self.xml(vm.name, uuid: vm.uuid, memoryKiB: 131072))
        #expect(try Self.memoryKiB(connection, vm.name) == "<memory unit='KiB'>131072</memory>")
        #expect(undo.run() == "\(vm.name) has its previous definition again")
        #expect(try Self.memoryKiB(connection, vm.name) == "<memory unit='KiB'>65536</memory>")
        try connection.lookupDomain(name: vm.name).undefine()
    }

    @Test("a guest the launch started is destroyed, then its definition removed")
    func startedGuestDestroyed() throws {
        let connection = try Connection(uri: "test:///default")
        let vm = Self.scratch()
        let undo = LibvirtUndo(connection: connection, name: vm.name)
        undo.arm(previousXML: nil)
        let domain = try connection.defineDomain(xml: Self.xml(vm.name, uuid: vm.uuid, memoryKiB: 65536))
        try domain.start()
        undo.started()
        #expect(try domain.isActive)
        #expect(undo.run() == "\(vm.name) is not defined")
        #expect(try !connection.domainExists(name: vm.name), "destroyed, and no longer defined")
    }

    @Test("disarmed (libvirt refused the definition), or never armed, it touches nothing")
    func disarmedDoesNothing() throws {
        let connection = try Connection(uri: "test:///default")
        let vm = Self.scratch()
        _ = try connection.defineDomain(xml: Self.xml(vm.name, uuid: vm.uuid, memoryKiB: 65536))
        let never = LibvirtUndo(connection: connection, name: vm.name)
        #expect(never.run() == nil)
        let disarmed = LibvirtUndo(connection: connection, name: vm.name)
        disarmed.arm(previousXML: nil)
        disarmed.disarm()
        #expect(disarmed.run() == nil)
        #expect(try connection.domainExists(name: vm.name))
        try connection.lookupDomain(name: vm.name).undefine()
    }
}
