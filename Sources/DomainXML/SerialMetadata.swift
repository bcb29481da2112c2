/// vmserial's record inside the domain's `<metadata>`, so `virsh dumpxml` shows which
/// serials vmserial assigned and where they came from.
///
/// ```xml
/// <vms:instance xmlns:vms="https://vmserial.dev/xmlns/instance/1" version="1">
///   <vms:smbios mode="unique" serial="…" uuid="…"/>
///   <vms:disk name="root" volume="vm1/root" bus="virtio" target="vda" serial="VS…" generated="yes"/>
/// </vms:instance>
/// ```
public struct SerialMetadata: Equatable, Sendable {
    public static let namespace = "https://vmserial.dev/xmlns/instance/1"
    public static let prefix = "vms"

    public var smbiosMode: String
    public var smbiosSerial: String?
    public var uuid: String
    public var disks: [DiskEntry]

    public struct DiskEntry: Equatable, Sendable {
        public var name: String
        public var volume: String
        public var bus: String
        public var target: String
        public var serial: String?
        public var generated: Bool

        public init(name: String, volume: String, bus: String, target: String, serial: String?, generated: Bool) {
            self.name = name
            self.volume = volume
            self.bus = bus
            self.target = target
            self.serial = serial
            self.generated = generated
        }
    }

    public init(smbiosMode: String, smbiosSerial: String?, uuid: String, disks: [DiskEntry]) {
        self.smbiosMode = smbiosMode
        self.smbiosSerial = smbiosSerial
        self.uuid = uuid
        self.disks = disks
    }

    public func element() -> XElement {
        let p = Self.prefix
        var kids = [XElement("\(p):smbios", [("mode", smbiosMode), ("serial", smbiosSerial), ("uuid", uuid)])]
        kids += disks.map {
            XElement("\(p):disk", [("name", $0.name), ("volume", $0.volume), ("bus", $0.bus), ("target", $0.target),
                                   ("serial", $0.serial), ("generated", $0.generated ? "yes" : "no")])
        }
        return XElement("\(p):instance", [("xmlns:\(p)", Self.namespace), ("version", "1")], children: kids)
    }

    /// Finds vmserial's element among a domain's metadata children, whatever prefix it was written with.
    public init?(metadata: [XElement]) {
        for e in metadata {
            guard let (prefix, _) = Self.split(e.name),
                  e[attribute: "xmlns:\(prefix)"] == Self.namespace || (prefix.isEmpty && e[attribute: "xmlns"] == Self.namespace)
            else { continue }
            let q = { (local: String) in prefix.isEmpty ? local : "\(prefix):\(local)" }
            guard let s = e.first(q("smbios")) else { return nil }
            smbiosMode = s[attribute: "mode"] ?? "unique"
            smbiosSerial = s[attribute: "serial"]
            uuid = s[attribute: "uuid"] ?? ""
            disks = e.all(q("disk")).map {
                DiskEntry(name: $0[attribute: "name"] ?? "", volume: $0[attribute: "volume"] ?? "",
                          bus: $0[attribute: "bus"] ?? "", target: $0[attribute: "target"] ?? "",
                          serial: $0[attribute: "serial"], generated: $0[attribute: "generated"] == "yes")
            }
            return
        }
        return nil
    }

    static func split(_ name: String) -> (String, String)? {
        let parts = name.split(separator: ":", maxSplits: 1).map(String.init)
        if parts.count == 2 { return (parts[0], parts[1]) }
        return ("", name)
    }
}

extension Domain {
    /// vmserial's metadata on this domain, if it has any.
    public var serialMetadata: SerialMetadata? {
        get { SerialMetadata(metadata: metadata) }
        set {
            metadata.removeAll { SerialMetadata(metadata: [$0]) != nil }
            if let newValue { metadata.append(newValue.element()) }
        }
    }
}
