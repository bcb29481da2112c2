import DomainXML
import Foundation
import Libvirt
import Scenario
import SerialRegistry
import VMSpec

/// `"vm": {"domain": NAME}` in a scenario: the copy is the domain's own definition (every device
/// kept), renamed, with a new UUID, on qcow2 overlays over its disks, adopted into the
/// scenario's registry. The user's domain, images and registry are never touched.
public enum ScenarioDomainCopy {
    /// What the scenario parser needs to check a scenario's disk names: the domain as a spec,
    /// its disks named by their targets (so steps say `"disk": "vdb"`).
    /// libvirt is opened (`Connect.open(connect)`) only when the scenario names a domain, so a bad
    /// scenario file is reported as such on a host without libvirt too.
    public static func specReader(connect: String?) -> ScenarioParser.DomainSpecReader {
        { name in
            let dom = try Adopter.requireDomain(name, on: try Connect.open(connect))
            let definition = try DomainDefinition(xml: dom.xmlDesc(inactive: true))
            let spec = try DomainSpecMaker.spec(from: definition, assignment: nil).spec
            return try SpecValidator.resolve(spec, specPath: nil, baseDirectory: "/")
        }
    }

    /// The copy's definition: `name`, no `<uuid>` (libvirt makes one), no SMBIOS uuid entry, no
    /// NVRAM file (UEFI gets a fresh one) and no MAC addresses (libvirt makes new ones), so it
    /// can live beside the original; each volume disk on the overlay `overlay(source, format,
    /// target)` makes. Returns whether the SMBIOS serial was the domain's UUID (launch's
    /// unique), so the copy is given its own in the same way.
    static func definition(_ original: XElement, name: String,
                           overlay: (_ source: String, _ format: String, _ target: String) throws -> String) throws -> (XElement, serialWasUUID: Bool) {
        var root = original
        let oldUUID = root.first("uuid")?.text?.lowercased()
        var serialWasUUID = false
        var kids: [XElement.Node] = []
        for node in root.children {
            guard case var .element(e) = node else { kids.append(node); continue }
            switch e.name {
            case "name":
                e = XElement("name", text: name)
            case "uuid":
                continue
            case "sysinfo":
                if var system = e.first("system"), let si = e.children.firstIndex(where: { $0.elementName == "system" }) {
                    system.children.removeAll { if case let .element(x) = $0 { x.name == "entry" && x[attribute: "name"] == "uuid" } else { false } }
                    serialWasUUID = oldUUID != nil && system.all("entry").first { $0[attribute: "name"] == "serial" }?.text?.lowercased() == oldUUID
                    e.children[si] = .element(system)
                }
            case "os":
                e.children.removeAll { $0.elementName == "nvram" }
            case "devices":
                for i in e.children.indices {
                    guard case var .element(d) = e.children[i] else { continue }
                    if d.name == "interface" {
                        d.children.removeAll { $0.elementName == "mac" }
                    } else if d.name == "disk", d[attribute: "device"] == "disk",
                              let src = d.first("source"), let source = src[attribute: "file"] ?? src[attribute: "dev"],
                              let target = d.first("target")?[attribute: "dev"] {
                        let format = d.first("driver")?[attribute: "type"] ?? "raw"
                        let path = try overlay(source, format, target)
                        d[attribute: "type"] = "file"
                        for j in d.children.indices {
                            guard case var .element(c) = d.children[j] else { continue }
                            if c.name == "source" {
                                c.attributes = c.attributes.filter { $0.name != "file" && $0.name != "dev" } + [.init("file", path)]
                            } else if c.name == "driver" {
                                c[attribute: "type"] = "qcow2"
                            }
                            d.children[j] = .element(c)
                        }
                        // The overlay names its backing file itself.
                        d.children.removeAll { $0.elementName == "backingStore" }
                        // A private overlay is no longer shared with another VM.
                        d.children.removeAll { $0.elementName == "shareable" }
                    }
                    e.children[i] = .element(d)
                }
            default:
                break
            }
            kids.append(.element(e))
        }
        root.children = kids
        return (root, serialWasUUID)
    }

    /// Defines the copy of `domain` as `copy` on overlays in `work` and adopts it into `registry`
    /// (its serials as they are, volumes `<copy>/<target>`). Returns the adoption and the
    /// definition as adopted (what a restore step defines again).
    static func make(domain: String, copy: String, work: RunDirectory, connection: Connection, registry: any Registry,
                     log: @escaping (String) -> Void) throws -> (assignment: Assignment, adoptedXML: String) {
        let original = try Adopter.requireDomain(domain, on: connection)
        let root = try XElement.parse(original.xmlDesc(inactive: true, secure: true))
        var overlays: [String: String] = [:]
        let (copyRoot, serialWasUUID) = try definition(root, name: copy) { source, format, target in
            if let o = overlays[source] { return o }
            guard FileManager.default.fileExists(atPath: source) else {
                throw VMSerialError.badInput("disk \(target) of domain \(domain) is \(source), which does not exist")
            }
            let overlay = work.path("\(target).qcow2")
            _ = try Tool.run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", format, "-b", source, overlay])
            overlays[source] = overlay
            return overlay
        }
        do {
            _ = try connection.defineDomain(xml: copyRoot.rendered())
        } catch let e as LibvirtError {
            throw VMSerialError.failed("libvirt refused the copy of \(domain): \(e.message)")
        }
        var adopter = Adopter(connection: connection, registry: registry)
        adopter.log = log
        let r = try adopter.adopt(domain: copy, options: AdoptOptions(smbios: serialWasUUID ? .unique : .keep))
        return (r.assignment, try connection.lookupDomain(name: copy).xmlDesc(inactive: true, secure: true))
    }
}
