import Foundation

/// A minimal XML element tree: enough for libvirt's documents, and lossless for what
/// they contain: elements, attributes in document order, text, CDATA sections (kept as
/// CDATA). What is not kept: comments, processing instructions and the XML declaration
/// (libvirt does not emit them in domain XML), white space between elements (rendering
/// indents anew), and the quote character of attribute values (rendered with `'`).
public struct XElement: Equatable, Sendable {
    public var name: String
    public var attributes: [Attribute]
    public var children: [Node]

    public struct Attribute: Equatable, Sendable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public enum Node: Equatable, Sendable {
        case element(XElement)
        case text(String)
        /// A CDATA section's content, rendered back as `<![CDATA[…]]>`.
        case cdata(String)
    }

    public init(_ name: String, _ attributes: [(String, String?)] = [], children: [XElement] = [], text: String? = nil) {
        self.name = name
        self.attributes = attributes.compactMap { k, v in v.map { Attribute(k, $0) } }
        self.children = children.map(Node.element)
        if let text { self.children.append(.text(text)) }
    }

    // MARK: reading

    public subscript(attribute name: String) -> String? {
        get { attributes.first { $0.name == name }?.value }
        set {
            if let i = attributes.firstIndex(where: { $0.name == name }) {
                if let newValue { attributes[i].value = newValue } else { attributes.remove(at: i) }
            } else if let newValue {
                attributes.append(Attribute(name, newValue))
            }
        }
    }

    public var elements: [XElement] {
        children.compactMap { if case let .element(e) = $0 { e } else { nil } }
    }

    public func first(_ name: String) -> XElement? { elements.first { $0.name == name } }
    public func all(_ name: String) -> [XElement] { elements.filter { $0.name == name } }

    /// The concatenated text and CDATA children, or nil when there are none.
    public var text: String? {
        let parts = children.compactMap { node -> String? in
            switch node {
            case let .text(t), let .cdata(t): t
            case .element: nil
            }
        }
        return parts.isEmpty ? nil : parts.joined()
    }

    // MARK: writing

    /// Renders with two-space indentation; an element holding only text stays on one line.
    public func rendered(indent: Int = 0) -> String {
        var out = ""
        render(into: &out, level: indent)
        return out
    }

    private func render(into out: inout String, level: Int) {
        let pad = String(repeating: "  ", count: level)
        out += pad + "<" + name
        for a in attributes { out += " \(a.name)='\(Self.escape(a.value, quote: true))'" }
        if children.isEmpty {
            out += "/>\n"
            return
        }
        let onlyText = children.allSatisfy { if case .element = $0 { false } else { true } }
        if onlyText {
            out += ">"
            for c in children {
                switch c {
                case let .text(t): out += Self.escape(t, quote: false)
                case let .cdata(t): out += Self.cdataSection(t)
                case .element: break
                }
            }
            out += "</\(name)>\n"
            return
        }
        out += ">\n"
        for c in children {
            switch c {
            case let .element(e): e.render(into: &out, level: level + 1)
            case let .text(t):
                let trimmed = t.trimmingCharacters(in: .whitespacesAndNewlines)
                if !trimmed.isEmpty { out += pad + "  " + Self.escape(trimmed, quote: false) + "\n" }
            case let .cdata(t): out += pad + "  " + Self.cdataSection(t) + "\n"
            }
        }
        out += pad + "</\(name)>\n"
    }

    /// A CDATA section holding `s`; a `]]>` inside is split across two sections.
    static func cdataSection(_ s: String) -> String {
        "<![CDATA[" + s.replacingOccurrences(of: "]]>", with: "]]]]><![CDATA[>") + "]]>"
    }

    static func escape(_ s: String, quote: Bool) -> String {
        XMLEscaping.escape(s, quote: quote)
    }
}

/// The product's one XML escaper: domain XML (`XElement`) and the JUnit reports use it.
public enum XMLEscaping {
    /// `s` made safe for XML text, or for an attribute value in either quote when `quote`.
    ///
    /// - Parameter showingControls: XML 1.0 forbids C0 control characters other than tab, LF and
    ///   CR, even as character references; a garbled guest serial in a report can hold them, so a
    ///   report shows them as `\xNN`. Domain XML leaves them as they are (libvirt refuses them,
    ///   which is better than a silently changed serial).
    public static func escape(_ s: String, quote: Bool = true, showingControls: Bool = false) -> String {
        var r = ""
        r.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": r += "&amp;"
            case "<": r += "&lt;"
            case ">": r += "&gt;"
            case "'" where quote: r += "&apos;"
            case "\"" where quote: r += "&quot;"
            case _ where showingControls && u.value < 0x20 && u != "\t" && u != "\n" && u != "\r":
                r += "\\x" + (u.value < 0x10 ? "0" : "") + String(u.value, radix: 16)
            default: r.unicodeScalars.append(u)
            }
        }
        return r
    }
}

public struct XMLParseError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let line: Int
    public var description: String { "XML parse error at line \(line): \(message)" }
}

extension XElement {
    /// Parses a document and returns its root element. Text that is only white space is
    /// dropped where an element also has child elements (indentation); attributes keep their
    /// document order; CDATA sections are kept as `.cdata`.
    ///
    /// A parser of its own rather than Foundation's `XMLParser`, which hands attributes over as
    /// a dictionary (their order lost) and merges CDATA into text.
    public static func parse(_ xml: String) throws -> XElement {
        var parser = XMLReader(Array(xml.utf8))
        return try parser.document()
    }
}

/// A small non-validating XML 1.0 reader over UTF-8 bytes: elements, attributes, text with
/// the predefined entities and character references, CDATA; skips the declaration, comments,
/// processing instructions and a DOCTYPE. Enough for libvirt's documents, which have no DTD.
private struct XMLReader {
    let bytes: [UInt8]
    var i = 0

    init(_ bytes: [UInt8]) {
        // A UTF-8 byte order mark is not part of the document.
        self.bytes = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
    }

    var line: Int { bytes[..<min(i, bytes.count)].reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) } }

    func fail(_ message: String) -> XMLParseError { XMLParseError(message: message, line: line) }

    func peek(_ s: String) -> Bool { bytes[i...].starts(with: s.utf8) }

    mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    /// Skips past `end`, failing with `what` when the document ends first.
    mutating func skip(past end: String, _ what: String) throws -> ArraySlice<UInt8> {
        let start = i
        let e = Array(end.utf8)
        while i < bytes.count {
            if bytes[i...].starts(with: e) {
                let body = bytes[start..<i]
                i += e.count
                return body
            }
            i += 1
        }
        throw fail("unterminated \(what)")
    }

    /// Comments, processing instructions, white space; a DOCTYPE too when `prolog`.
    mutating func skipMisc(prolog: Bool) throws {
        while true {
            skipSpace()
            if peek("<!--") {
                _ = try skip(past: "-->", "comment")
            } else if peek("<?") {
                _ = try skip(past: "?>", "processing instruction")
            } else if prolog && peek("<!DOCTYPE") {
                // An internal subset [ … ] may hold '>'; libvirt never writes one, but skip it whole.
                var depth = 0
                while i < bytes.count {
                    let c = bytes[i]
                    i += 1
                    if c == UInt8(ascii: "[") { depth += 1 }
                    if c == UInt8(ascii: "]") { depth -= 1 }
                    if c == UInt8(ascii: ">") && depth <= 0 { break }
                }
            } else {
                return
            }
        }
    }

    mutating func document() throws -> XElement {
        try skipMisc(prolog: true)
        guard i < bytes.count, bytes[i] == UInt8(ascii: "<") else { throw fail("no root element") }
        let root = try element()
        try skipMisc(prolog: false)
        guard i == bytes.count else { throw fail("content after the root element") }
        return root
    }

    static func isNameByte(_ c: UInt8) -> Bool {
        !([0x20, 0x09, 0x0A, 0x0D] as [UInt8]).contains(c)
            && !"/>=<'\"&".utf8.contains(c)
    }

    mutating func name() throws -> String {
        let start = i
        while i < bytes.count, Self.isNameByte(bytes[i]) { i += 1 }
        guard i > start else { throw fail("a name was expected") }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    /// At '<' of a start tag: the element with everything inside it.
    mutating func element() throws -> XElement {
        i += 1
        var e = XElement(try name())
        while true {
            let before = i
            skipSpace()
            guard i < bytes.count else { throw fail("unterminated start tag <\(e.name)>") }
            if peek("/>") {
                i += 2
                return e
            }
            if bytes[i] == UInt8(ascii: ">") {
                i += 1
                break
            }
            guard i > before else { throw fail("white space expected between the attributes of <\(e.name)>") }
            let attribute = try name()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "=") else { throw fail("'=' expected after \(attribute)") }
            i += 1
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "'") || bytes[i] == UInt8(ascii: "\"") else {
                throw fail("a quoted value expected for \(attribute)")
            }
            let quote = bytes[i]
            i += 1
            let start = i
            while i < bytes.count, bytes[i] != quote {
                if bytes[i] == UInt8(ascii: "<") { throw fail("'<' in the value of \(attribute)") }
                i += 1
            }
            guard i < bytes.count else { throw fail("unterminated value of \(attribute)") }
            let raw = bytes[start..<i]
            i += 1
            guard !e.attributes.contains(where: { $0.name == attribute }) else {
                throw fail("attribute \(attribute) given twice in <\(e.name)>")
            }
            // Attribute-value normalisation (XML 1.0, 3.3.3): literal tab, CR and LF become spaces.
            let value = try decode(raw, normalise: true)
            e.attributes.append(XElement.Attribute(attribute, value))
        }
        // Content up to the matching end tag.
        var text: [UInt8] = []
        func flushText() throws {
            guard !text.isEmpty else { return }
            e.children.append(.text(try decode(text[...], normalise: false)))
            text.removeAll()
        }
        while true {
            guard i < bytes.count else { throw fail("<\(e.name)> is not closed") }
            let c = bytes[i]
            if c != UInt8(ascii: "<") {
                text.append(c)
                i += 1
                continue
            }
            if peek("</") {
                try flushText()
                i += 2
                let closing = try name()
                guard closing == e.name else { throw fail("</\(closing)> closes <\(e.name)>") }
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ">") else { throw fail("'>' expected after </\(closing)") }
                i += 1
                break
            } else if peek("<![CDATA[") {
                try flushText()
                i += 9
                let body = try skip(past: "]]>", "CDATA section")
                e.children.append(.cdata(Self.newlines(String(decoding: body, as: UTF8.self))))
            } else if peek("<!--") {
                _ = try skip(past: "-->", "comment")
            } else if peek("<?") {
                _ = try skip(past: "?>", "processing instruction")
            } else {
                try flushText()
                e.children.append(.element(try element()))
            }
        }
        // Drop white-space-only text when the element also has child elements (indentation).
        if e.children.contains(where: { if case .element = $0 { true } else { false } }) {
            e.children.removeAll { if case let .text(t) = $0 { t.allSatisfy(\.isWhitespace) } else { false } }
        }
        return e
    }

    /// XML 1.0, 2.11: CR LF and a lone CR read as LF.
    static func newlines(_ s: String) -> String {
        s.contains("\r") ? s.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n") : s
    }

    /// Text or an attribute value with its entity and character references replaced.
    func decode(_ raw: ArraySlice<UInt8>, normalise: Bool) throws -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var k = raw.startIndex
        while k < raw.endIndex {
            let c = raw[k]
            if c == UInt8(ascii: "&") {
                guard let semicolon = raw[k...].firstIndex(of: UInt8(ascii: ";")) else {
                    throw fail("'&' not followed by a reference")
                }
                let reference = String(decoding: raw[(k + 1)..<semicolon], as: UTF8.self)
                let scalar: Unicode.Scalar?
                switch reference {
                case "amp": scalar = "&"
                case "lt": scalar = "<"
                case "gt": scalar = ">"
                case "quot": scalar = "\""
                case "apos": scalar = "'"
                default:
                    if reference.hasPrefix("#x") {
                        scalar = UInt32(reference.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
                    } else if reference.hasPrefix("#") {
                        scalar = UInt32(reference.dropFirst(), radix: 10).flatMap(Unicode.Scalar.init)
                    } else {
                        throw fail("unknown entity &\(reference);")
                    }
                }
                guard let scalar else { throw fail("bad character reference &\(reference);") }
                out.append(contentsOf: Array(String(scalar).utf8))
                k = semicolon + 1
                continue
            }
            if normalise && (c == 0x09 || c == 0x0A || c == 0x0D) {
                // CR LF is one line end, so one space.
                if !(c == 0x0A && k > raw.startIndex && raw[k - 1] == 0x0D) { out.append(0x20) }
            } else if !normalise && c == 0x0D {
                out.append(0x0A)
                if k + 1 < raw.endIndex && raw[k + 1] == 0x0A { k += 1 }
            } else {
                out.append(c)
            }
            k += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
