import Libvirt
import Testing

@Suite("Connection")
struct ConnectionTests {
    @Test("opening test:///default reports its URI and the driver's default domain")
    func openAndURI() throws {
        let connection = try Connection(uri: testURI)
        #expect(connection.uri == testURI)
        #expect(try connection.listDomainNames().contains("test"))
        #expect(try connection.domainExists(name: "test"))
        let test = try connection.lookupDomain(name: "test")
        #expect(try test.state() == .running)
    }

    @Test("the library version has the form major.minor.release")
    func libraryVersion() throws {
        let parts = LibvirtVersion.library().split(separator: ".")
        #expect(parts.count == 3)
        let major = try #require(Int(parts[0]))
        #expect(major >= 9)
        #expect(parts.allSatisfy { Int($0) != nil })
    }

    @Test("an unknown URI throws .connectionFailed naming the URI, and libvirt prints nothing")
    func unknownURI() throws {
        let uri = "nosuchdriver:///x"
        let (error, stderrText) = capturingStandardError { () -> LibvirtError? in
            do {
                _ = try Connection(uri: uri)
                return nil
            } catch {
                return error as? LibvirtError
            }
        }
        let thrown = try #require(error)
        #expect(thrown.kind == .connectionFailed)
        #expect(thrown.code != 0)
        #expect(thrown.message.contains(uri))
        // Without a replacement error handler libvirt writes
        // "libvirt: XML-RPC error : Failed to connect socket to …". Tests running in
        // parallel may print their own progress here, so look for libvirt's words only.
        #expect(!stderrText.contains("libvirt: "))
        #expect(!stderrText.contains("Failed to connect"))
        #expect(!stderrText.contains(uri))
    }

    @Test("listing returns inactive and active domains")
    func listIncludesInactiveAndActive() throws {
        let connection = try Connection(uri: testURI)
        let inactive = ScratchDomain("inactive")
        let active = ScratchDomain("active")
        _ = try connection.defineDomain(xml: inactive.xml)
        try connection.defineDomain(xml: active.xml).start()
        let names = try connection.listDomainNames()
        #expect(names.contains(inactive.name))
        #expect(names.contains(active.name))
        #expect(try connection.lookupDomain(name: active.name).isActive)
        #expect(try !connection.lookupDomain(name: inactive.name).isActive)
    }

    @Test("host capabilities come back as a <capabilities> document")
    func capabilities() throws {
        let connection = try Connection(uri: testURI)
        let xml = try connection.capabilitiesXML()
        #expect(xml.hasPrefix("<capabilities>"))
        #expect(xml.contains("<os_type>hvm</os_type>"))
    }

    @Test("the test driver does not implement domain capabilities: .other, VIR_ERR_NO_SUPPORT")
    func domainCapabilitiesUnsupported() throws {
        let connection = try Connection(uri: testURI)
        let error = try #require(throws: LibvirtError.self) {
            try connection.domainCapabilitiesXML(virtType: "qemu", machine: nil)
        }
        #expect(error.kind == .other)
        #expect(error.code == LibvirtError.codeNoSupport)
        #expect(error.message.contains("virConnectGetDomainCapabilities"))
    }
}

@Suite("LibvirtError")
struct LibvirtErrorTests {
    @Test("the description carries libvirt's code, and none for the wrapper's own errors")
    func description() {
        let fromLibvirt = LibvirtError(kind: .noDomain, code: 42, domainCode: 10, message: "Domain not found")
        #expect(fromLibvirt.description == "Domain not found (libvirt error 42)")
        let own = LibvirtError(kind: .timeout, message: "domain 'a' did not reach running within 1.0 seconds")
        #expect(own.description == "domain 'a' did not reach running within 1.0 seconds")
    }
}
