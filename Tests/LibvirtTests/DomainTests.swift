import Libvirt
import Testing

@Suite("Domain")
struct DomainTests {
    @Test("a defined domain reads back with its name and UUID, persistent and shut off")
    func defineAndReadBack() throws {
        let connection = try Connection(uri: testURI)
        let scratch = ScratchDomain("define")
        let domain = try connection.defineDomain(xml: scratch.xml)

        #expect(domain.name == scratch.name)
        #expect(try domain.uuidString == scratch.uuid)
        #expect(try domain.isPersistent)
        #expect(try !domain.isActive)
        #expect(try domain.state() == .shutoff)

        let xml = try domain.xmlDesc()
        #expect(xml.contains("<uuid>\(scratch.uuid)</uuid>"))
        #expect(xml.contains("<name>\(scratch.name)</name>"))
        #expect(try domain.xmlDesc(inactive: true).contains("<uuid>\(scratch.uuid)</uuid>"))

        let byUUID = try connection.lookupDomain(uuid: scratch.uuid.uppercased())
        #expect(byUUID.name == scratch.name)
        #expect(try connection.domainExists(name: scratch.name))
    }

    @Test("looking up a missing name throws .noDomain naming the domain")
    func lookupMissingName() throws {
        let connection = try Connection(uri: testURI)
        let missing = ScratchDomain("missing").name
        let error = try #require(throws: LibvirtError.self) {
            try connection.lookupDomain(name: missing)
        }
        #expect(error.kind == .noDomain)
        #expect(error.code == 42)  // VIR_ERR_NO_DOMAIN
        #expect(error.message.contains(missing))
        #expect(try !connection.domainExists(name: missing))
    }

    @Test("looking up a missing UUID throws .noDomain; a malformed one is an invalid argument")
    func lookupMissingUUID() throws {
        let connection = try Connection(uri: testURI)
        let uuid = ScratchDomain("uuid").uuid
        let missing = try #require(throws: LibvirtError.self) {
            try connection.lookupDomain(uuid: uuid)
        }
        #expect(missing.kind == .noDomain)
        #expect(missing.message.contains(uuid))

        let malformed = try #require(throws: LibvirtError.self) {
            try connection.lookupDomain(uuid: "not-a-uuid")
        }
        #expect(malformed.kind == .other)
        #expect(malformed.code == LibvirtError.codeInvalidArgument)
    }

    @Test("start and destroy move the domain shutoff → running → shutoff")
    func startAndDestroy() async throws {
        let connection = try Connection(uri: testURI)
        let scratch = ScratchDomain("lifecycle")
        let domain = try connection.defineDomain(xml: scratch.xml)
        #expect(try domain.state() == .shutoff)

        try domain.start()
        try await domain.waitForState([.running], timeout: .seconds(5))
        #expect(try domain.state() == .running)
        #expect(try domain.isActive)

        try domain.destroy()
        try await domain.waitForState([.shutoff, .crashed], timeout: .seconds(5))
        #expect(try domain.state() == .shutoff)
        #expect(try !domain.isActive)
        #expect(try domain.isPersistent)
    }

    @Test("destroying a shut-off domain throws .operationInvalid naming the domain")
    func destroyInactive() throws {
        let connection = try Connection(uri: testURI)
        let scratch = ScratchDomain("destroy-inactive")
        let domain = try connection.defineDomain(xml: scratch.xml)
        let error = try #require(throws: LibvirtError.self) { try domain.destroy() }
        #expect(error.kind == .operationInvalid)
        #expect(error.code == 55)  // VIR_ERR_OPERATION_INVALID
        #expect(error.message.contains(scratch.name))
        #expect(error.message.contains("not running"))
    }

    @Test("waitForState throws .timeout when the state never comes")
    func waitForStateTimesOut() async throws {
        let connection = try Connection(uri: testURI)
        let domain = try connection.defineDomain(xml: ScratchDomain("timeout").xml)
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: LibvirtError.self) {
            try await domain.waitForState([.running], timeout: .milliseconds(250))
        }
        #expect(error?.kind == .timeout)
        #expect(error?.message.contains("shut off") == true)
        // It must not give up before the timeout; how much later it notices is not a test's business.
        #expect(started.duration(to: clock.now) >= .milliseconds(250))
    }

    @Test("shutdown of a test-driver domain turns it off at once")
    func shutdown() async throws {
        let connection = try Connection(uri: testURI)
        let domain = try connection.defineDomain(xml: ScratchDomain("shutdown").xml)
        try domain.start()
        try domain.reboot()
        try domain.reset()
        #expect(try domain.state() == .running)
        try domain.shutdown()
        try await domain.waitForState([.shutoff], timeout: .seconds(5))
    }

    @Test("a transient domain runs, is not persistent, and vanishes when destroyed")
    func transientDomain() throws {
        let connection = try Connection(uri: testURI)
        let scratch = ScratchDomain("transient")
        let domain = try connection.createTransientDomain(xml: scratch.xml)
        #expect(try domain.state() == .running)
        #expect(try !domain.isPersistent)
        try domain.destroy()
        let error = try #require(throws: LibvirtError.self) {
            try connection.lookupDomain(name: scratch.name)
        }
        #expect(error.kind == .noDomain)
    }

    @Test("undefine removes a shut-off domain")
    func undefine() throws {
        let connection = try Connection(uri: testURI)
        let scratch = ScratchDomain("undefine")
        let domain = try connection.defineDomain(xml: scratch.xml)
        try domain.undefine()
        let error = try #require(throws: LibvirtError.self) {
            try connection.lookupDomain(name: scratch.name)
        }
        #expect(error.kind == .noDomain)
        #expect(error.message.contains(scratch.name))
        #expect(try !connection.listDomainNames().contains(scratch.name))
    }

    @Test("undefine of a running domain leaves it running as a transient domain")
    func undefineRunning() throws {
        let connection = try Connection(uri: testURI)
        let scratch = ScratchDomain("undefine-running")
        let domain = try connection.defineDomain(xml: scratch.xml)
        try domain.start()
        try domain.undefine()
        #expect(try domain.state() == .running)
        #expect(try !domain.isPersistent)
        try domain.destroy()
        #expect(try !connection.domainExists(name: scratch.name))
    }

    @Test(
        "rejected domain XML throws .xmlError with the driver's code",
        arguments: [
            // Not well-formed: libxml2's message, VIR_ERR_XML_DETAIL.
            ("<domain type='test'><name>broken</name>", Int32(35)),
            ("not xml at all", Int32(35)),
            // Well-formed but without <os><type>: VIR_ERR_XML_ERROR.
            ("<domain type='test'><name>no-os</name><memory>65536</memory></domain>", Int32(27)),
            // An OS type the driver does not know: VIR_ERR_CONFIG_UNSUPPORTED.
            (
                "<domain type='test'><name>bad-os</name><memory>65536</memory><os><type>bogus</type></os></domain>",
                Int32(67)
            ),
            // No <name>: VIR_ERR_NO_NAME.
            ("<domain type='test'><memory>65536</memory><os><type>hvm</type></os></domain>", Int32(21)),
        ])
    func invalidXML(xml: String, code: Int32) throws {
        let connection = try Connection(uri: testURI)
        let error = try #require(throws: LibvirtError.self) {
            try connection.defineDomain(xml: xml)
        }
        #expect(error.kind == .xmlError)
        #expect(error.code == code)
        #expect(!error.message.isEmpty)
    }

    @Test("block jobs are not implemented by the test driver: VIR_ERR_NO_SUPPORT, not nil")
    func blockJobsUnsupported() throws {
        let connection = try Connection(uri: testURI)
        let domain = try connection.lookupDomain(name: "test")
        let info = try #require(throws: LibvirtError.self) { try domain.blockJobInfo(disk: "vda") }
        #expect(info.code == LibvirtError.codeNoSupport)
        let copy = try #require(throws: LibvirtError.self) {
            try domain.blockCopy(
                disk: "vda", destinationXML: "<disk type='file'><source file='/nonexistent'/></disk>")
        }
        #expect(copy.code == LibvirtError.codeNoSupport)
        #expect(copy.message.contains("vda"))
    }
}
