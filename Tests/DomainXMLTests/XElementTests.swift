import Testing
@testable import DomainXML

@Suite("XElement")
struct XElementTests {
    let doc = """
        <?xml version="1.0"?>
        <root zeta='z' alpha="a &amp; b &lt;c&gt; &apos;d&apos; &quot;e&quot;" xmlns:x="urn:x">
          <child n='1'>text &amp; &lt;tag&gt; 'single' "double"</child>
          <empty/>
          <x:nested>
            <leaf k='v'>deep</leaf>
            <leaf k='w'/>
          </x:nested>
        </root>
        """

    @Test func parseReadsNamesAttributesAndText() throws {
        let e = try XElement.parse(doc)
        #expect(e.name == "root")
        // In the document's order.
        #expect(e.attributes.map(\.name) == ["zeta", "alpha", "xmlns:x"])
        #expect(e[attribute: "alpha"] == #"a & b <c> 'd' "e""#)
        #expect(e[attribute: "zeta"] == "z")
        #expect(e[attribute: "missing"] == nil)
        #expect(e.elements.map(\.name) == ["child", "empty", "x:nested"])
        #expect(e.first("child")?.text == #"text & <tag> 'single' "double""#)
        #expect(e.first("empty")?.children == [])
        #expect(e.first("empty")?.text == nil)
        let nested = try #require(e.first("x:nested"))
        #expect(nested.all("leaf").map { $0[attribute: "k"] } == ["v", "w"])
        #expect(nested.first("leaf")?.text == "deep")
        // Indentation between elements is not kept as text.
        #expect(e.text == nil)
    }

    @Test func renderEscapesAndParsesBackEqual() throws {
        let e = try XElement.parse(doc)
        let xml = e.rendered()
        #expect(xml.contains("alpha='a &amp; b &lt;c&gt; &apos;d&apos; &quot;e&quot;'"))
        #expect(xml.contains("<child n='1'>text &amp; &lt;tag&gt; 'single' \"double\"</child>"))
        #expect(xml.contains("<empty/>"))
        #expect(try XElement.parse(xml) == e)
    }

    @Test func builtElementRoundTrips() throws {
        var e = XElement("disk", [("device", "disk"), ("type", "file")], children: [
            XElement("serial", text: "A&B<C>'D\"E"),
            XElement("source", [("file", "/tmp/a 'b' & \"c\".img")]),
            XElement("target", [("bus", nil), ("dev", "vda")]),
        ])
        #expect(e.first("target")?.attributes.map(\.name) == ["dev"])   // a nil value leaves the attribute out
        e[attribute: "device"] = "cdrom"
        e[attribute: "extra"] = nil
        #expect(e[attribute: "device"] == "cdrom")
        #expect(e.attributes.count == 2)
        let back = try XElement.parse(e.rendered())
        #expect(back == e)
        #expect(back.first("serial")?.text == "A&B<C>'D\"E")
        #expect(back.first("source")?[attribute: "file"] == "/tmp/a 'b' & \"c\".img")
    }

    @Test func attributeSetterAddsReplacesAndRemoves() {
        var e = XElement("a", [("x", "1")])
        e[attribute: "y"] = "2"
        e[attribute: "x"] = "3"
        #expect(e.attributes == [.init("x", "3"), .init("y", "2")])
        e[attribute: "x"] = nil
        #expect(e.attributes == [.init("y", "2")])
    }

    @Test func renderIndentsChildrenAndKeepsTextInline() {
        let e = XElement("a", children: [XElement("b", text: "t"), XElement("c")])
        #expect(e.rendered() == "<a>\n  <b>t</b>\n  <c/>\n</a>\n")
        #expect(e.rendered(indent: 1) == "  <a>\n    <b>t</b>\n    <c/>\n  </a>\n")
    }

    @Test func textIsKeptVerbatimInsideATextOnlyElement() throws {
        let e = try XElement.parse("<cmdline>  console=ttyS0  quiet </cmdline>")
        #expect(e.text == "  console=ttyS0  quiet ")
        #expect(try XElement.parse(e.rendered()).text == "  console=ttyS0  quiet ")
    }

    /// The element libvirt writes for a device vmserial does not model, attributes in libvirt's
    /// own (not alphabetical) order: `virsh dumpxml` of a QEMU domain with a virtio-rng.
    @Test func attributeOrderSurvivesParseAndRender() throws {
        let rng = """
            <rng model='virtio'>
              <backend model='random'>/dev/urandom</backend>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/>
            </rng>

            """
        let e = try XElement.parse(rng)
        #expect(e.first("address")?.attributes.map(\.name) == ["type", "domain", "bus", "slot", "function"])
        #expect(e.rendered() == rng)
    }

    @Test func cdataIsKeptAsCDATAAndReadAsText() throws {
        let xml = "<description><![CDATA[a <b> & ]]]]><![CDATA[> c]]></description>\n"
        let e = try XElement.parse(xml)
        #expect(e.children == [.cdata("a <b> & ]]"), .cdata("> c")])
        #expect(e.text == "a <b> & ]]> c")
        #expect(e.rendered() == xml)
        // One section holding "]]>" is split on the way out, and reads back the same.
        let built = XElement("description", children: []).with(cdata: "x]]>y")
        #expect(try XElement.parse(built.rendered()).text == "x]]>y")
        // Text and CDATA mixed in one element.
        let mixed = try XElement.parse("<m>one &amp; <![CDATA[<two>]]> three</m>")
        #expect(mixed.children == [.text("one & "), .cdata("<two>"), .text(" three")])
        #expect(try XElement.parse(mixed.rendered()) == mixed)
    }

    @Test func referencesLineEndsAndWhitespaceInAttributes() throws {
        let e = try XElement.parse("<?xml version='1.0'?>\r\n<!-- c --><a v='1&#10;2&#x41;\t3'>x\r\ny<!-- kept out --></a>\n")
        #expect(e[attribute: "v"] == "1\n2A 3", "a reference keeps its character, a literal tab becomes a space")
        #expect(e.text == "x\ny")
    }

    @Test(arguments: ["<a><b></a>", "", "not xml", "<a x='1' x='2'/>", "<a>&nbsp;</a>", "<a x=1/>", "<a/><b/>",
                      "<a><![CDATA[x</a>", "<a x='<'/>", "<a>", "<a x='1'y='2'/>"])
    func malformedDocumentsThrow(xml: String) {
        #expect(throws: XMLParseError.self) { try XElement.parse(xml) }
    }
}

extension XElement {
    /// This element with a CDATA section appended.
    func with(cdata: String) -> XElement {
        var e = self
        e.children.append(.cdata(cdata))
        return e
    }
}
