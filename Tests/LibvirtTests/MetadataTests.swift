import Libvirt
import Testing

@Suite("Domain metadata")
struct MetadataTests {
    @Test("metadata is nil when absent, round-trips, is namespaced in the XML, and is removable")
    func roundTrip() throws {
        let connection = try Connection(uri: testURI)
        let domain = try connection.defineDomain(xml: ScratchDomain("metadata").xml)
        #expect(try domain.metadata(namespaceURI: vmserialNamespace) == nil)

        try domain.setMetadata(
            xml: "<info><serial disk='vda'>ABC-123</serial></info>",
            key: "vmserial", namespaceURI: vmserialNamespace)

        // libvirt hands the element back without the prefix it stored it under.
        let stored = try #require(try domain.metadata(namespaceURI: vmserialNamespace))
        #expect(stored.hasPrefix("<info>"))
        #expect(stored.contains("<serial disk=\"vda\">ABC-123</serial>"))

        let xml = try domain.xmlDesc(inactive: true)
        #expect(xml.contains("<vmserial:info xmlns:vmserial=\"\(vmserialNamespace)\">"))
        #expect(xml.contains("<vmserial:serial disk=\"vda\">ABC-123</vmserial:serial>"))

        // Another namespace is a separate slot.
        #expect(try domain.metadata(namespaceURI: "https://example.invalid/other") == nil)

        // Setting again replaces the element; nil removes it.
        try domain.setMetadata(xml: "<info/>", key: "vmserial", namespaceURI: vmserialNamespace)
        #expect(try domain.metadata(namespaceURI: vmserialNamespace) == "<info/>")
        try domain.setMetadata(xml: nil, key: "vmserial", namespaceURI: vmserialNamespace)
        #expect(try domain.metadata(namespaceURI: vmserialNamespace) == nil)
        #expect(!(try domain.xmlDesc(inactive: true)).contains(vmserialNamespace))
    }

    @Test("live metadata of a shut-off domain is .operationInvalid")
    func liveOnInactive() throws {
        let connection = try Connection(uri: testURI)
        let domain = try connection.defineDomain(xml: ScratchDomain("metadata-live").xml)
        let error = try #require(throws: LibvirtError.self) {
            try domain.metadata(namespaceURI: vmserialNamespace, config: false)
        }
        #expect(error.kind == .operationInvalid)
    }

    @Test("live and persistent metadata of a running domain are separate")
    func liveAndConfigAreSeparate() throws {
        let connection = try Connection(uri: testURI)
        let domain = try connection.defineDomain(xml: ScratchDomain("metadata-split").xml)
        try domain.start()
        try domain.setMetadata(
            xml: "<live/>", key: "vmserial", namespaceURI: vmserialNamespace, config: false, live: true)
        #expect(try domain.metadata(namespaceURI: vmserialNamespace, config: false) == "<live/>")
        #expect(try domain.metadata(namespaceURI: vmserialNamespace, config: true) == nil)
    }

    @Test("more than one element is rejected as .xmlError")
    func twoElements() throws {
        let connection = try Connection(uri: testURI)
        let domain = try connection.defineDomain(xml: ScratchDomain("metadata-two").xml)
        let error = try #require(throws: LibvirtError.self) {
            try domain.setMetadata(xml: "<a/><b/>", key: "vmserial", namespaceURI: vmserialNamespace)
        }
        #expect(error.kind == .xmlError)
        #expect(try domain.metadata(namespaceURI: vmserialNamespace) == nil)
    }
}
