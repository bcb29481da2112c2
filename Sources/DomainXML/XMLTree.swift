import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A minimal XML element tree: enough for libvirt's documents, and lossless for what
/// they contain (elements, attributes in order, text). Comments and processing
/// instructions are dropped; libvirt does not emit them in domain XML.
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

    /// The concatenated text children, or nil when there are none.
    public var text: String? {
        let parts = children.compactMap { if case let .text(t) = $0 { t } else { nil } }
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
        let onlyText = children.allSatisfy { if case .text = $0 { true } else { false } }
        if onlyText {
            out += ">" + Self.escape(text ?? "", quote: false) + "</\(name)>\n"
            return
        }
        out += ">\n"
        for c in children {
            switch c {
            case let .element(e): e.render(into: &out, level: level + 1)
            case let .text(t):
                let trimmed = t.trimmingCharacters(in: .whitespacesAndNewlines)
                if !trimmed.isEmpty { out += pad + "  " + Self.escape(trimmed, quote: false) + "\n" }
            }
        }
        out += pad + "</\(name)>\n"
    }

    static func escape(_ s: String, quote: Bool) -> String {
        var r = ""
        r.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": r += "&amp;"
            case "<": r += "&lt;"
            case ">": r += "&gt;"
            case "'" where quote: r += "&apos;"
            case "\"" where quote: r += "&quot;"
            default: r.append(c)
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
    /// Parses a document and returns its root element. Text that is only white space is dropped.
    public static func parse(_ xml: String) throws -> XElement {
        let builder = TreeBuilder()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.shouldProcessNamespaces = false
        parser.delegate = builder
        if !parser.parse() || builder.root == nil {
            let msg = parser.parserError.map { "\($0.localizedDescription)" } ?? "no root element"
            throw XMLParseError(message: builder.failure ?? msg, line: parser.lineNumber)
        }
        return builder.root!
    }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XElement] = []
    var root: XElement?
    var failure: String?

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String]) {
        // XMLParser hands attributes as a dictionary: sort for a stable order.
        var e = XElement(name)
        e.attributes = attributes.keys.sorted(by: Self.attributeOrder).map { XElement.Attribute($0, attributes[$0]!) }
        stack.append(e)
    }

    /// Namespace declarations first, then alphabetical: a stable, readable order.
    static func attributeOrder(_ a: String, _ b: String) -> Bool {
        let ax = a.hasPrefix("xmlns"), bx = b.hasPrefix("xmlns")
        if ax != bx { return ax }
        return a < b
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        guard var e = stack.popLast() else { return }
        // Drop white-space-only text when the element also has child elements (indentation).
        if e.children.contains(where: { if case .element = $0 { true } else { false } }) {
            e.children.removeAll { if case let .text(t) = $0 { t.allSatisfy(\.isWhitespace) } else { false } }
        }
        if stack.isEmpty {
            root = e
        } else {
            stack[stack.count - 1].children.append(.element(e))
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        if case let .text(t)? = stack[stack.count - 1].children.last {
            stack[stack.count - 1].children[stack[stack.count - 1].children.count - 1] = .text(t + string)
        } else {
            stack[stack.count - 1].children.append(.text(string))
        }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        failure = failure ?? "\(parseError.localizedDescription)"
    }
}
