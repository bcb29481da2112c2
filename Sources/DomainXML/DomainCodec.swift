/// Errors reading a domain document.
public struct DomainXMLError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

extension Domain {
    // MARK: render

    public func element() -> XElement {
        var root = XElement("domain", [("type", type)])
        var attrs = otherAttributes.filter { $0.name != "xmlns:qemu" }
        if !qemuArgs.isEmpty || !qemuOverrides.isEmpty || otherAttributes.contains(where: { $0.name == "xmlns:qemu" }) {
            attrs.append(.init("xmlns:qemu", Self.qemuNamespace))
        }
        root.attributes += attrs
        var kids: [XElement] = [XElement("name", text: name)]
        if let uuid { kids.append(XElement("uuid", text: uuid)) }
        if !metadata.isEmpty { kids.append(XElement("metadata", children: metadata)) }
        kids.append(XElement("memory", [("unit", "KiB")], text: "\(memoryKiB)"))
        var vcpu = XElement("vcpu", text: "\(vcpus)")
        vcpu.attributes = vcpuOther
        kids.append(vcpu)
        if let sysinfo { kids.append(sysinfo.element()) }
        kids.append(os.element())
        if !features.isEmpty {
            kids.append(XElement("features", children: features.map { featureElements[$0] ?? XElement($0) }))
        }
        if let cpu { kids.append(cpu) }
        if let onPoweroff { kids.append(XElement("on_poweroff", text: onPoweroff)) }
        if let onReboot { kids.append(XElement("on_reboot", text: onReboot)) }
        if let onCrash { kids.append(XElement("on_crash", text: onCrash)) }
        kids += other
        kids.append(devices.element())
        if !qemuArgs.isEmpty {
            kids.append(XElement("qemu:commandline", children: qemuArgs.map { XElement("qemu:arg", [("value", $0)]) }))
        }
        if !qemuOverrides.isEmpty {
            kids.append(XElement("qemu:override", children: qemuOverrides.map { $0.element() }))
        }
        root.children = kids.map(XElement.Node.element)
        return root
    }

    /// The document libvirt's define takes.
    public func xml() -> String { element().rendered() }

    // MARK: parse

    public init(xml: String) throws {
        try self.init(element: XElement.parse(xml))
    }

    public init(element root: XElement) throws {
        guard root.name == "domain" else { throw DomainXMLError(message: "root element is <\(root.name)>, not <domain>") }
        guard let name = root.first("name")?.text else { throw DomainXMLError(message: "<domain> has no <name>") }
        type = root[attribute: "type"] ?? "qemu"
        self.name = name
        otherAttributes = root.attributes.filter { $0.name != "type" }
        uuid = root.first("uuid")?.text
        metadata = root.first("metadata")?.elements ?? []
        memoryKiB = Self.kibibytes(root.first("memory")) ?? 0
        vcpus = Int(root.first("vcpu")?.text ?? "1") ?? 1
        vcpuOther = root.first("vcpu")?.attributes ?? []
        sysinfo = root.first("sysinfo").map(Sysinfo.init(element:))
        os = OS(element: root.first("os") ?? XElement("os"))
        let featureList = root.first("features")?.elements ?? []
        features = featureList.map(\.name)
        featureElements = Dictionary(featureList.filter { !$0.attributes.isEmpty || !$0.children.isEmpty }.map { ($0.name, $0) },
                                     uniquingKeysWith: { first, _ in first })
        cpu = root.first("cpu")
        onPoweroff = root.first("on_poweroff")?.text
        onReboot = root.first("on_reboot")?.text
        onCrash = root.first("on_crash")?.text
        devices = Devices(element: root.first("devices") ?? XElement("devices"))
        qemuArgs = root.first("qemu:commandline")?.all("qemu:arg").compactMap { $0[attribute: "value"] } ?? []
        qemuOverrides = root.first("qemu:override")?.elements.compactMap(QemuDeviceOverride.init) ?? []
        let known: Set = ["name", "uuid", "metadata", "memory", "vcpu", "sysinfo", "os", "features", "cpu",
                          "on_poweroff", "on_reboot", "on_crash", "devices", "qemu:commandline", "qemu:override"]
        other = root.elements.filter { !known.contains($0.name) }
    }

    static func kibibytes(_ e: XElement?) -> UInt64? {
        guard let e, let v = UInt64(e.text ?? "") else { return nil }
        switch (e[attribute: "unit"] ?? "KiB").lowercased() {
        case "b", "bytes": return v / 1024
        case "k", "kib": return v
        case "m", "mib": return v * 1024
        case "g", "gib": return v * 1024 * 1024
        default: return v
        }
    }
}

extension Domain.OS {
    func element() -> XElement {
        var e = XElement("os", [("firmware", firmware)])
        var type = XElement("type", [("arch", arch), ("machine", machine)], text: "hvm")
        type.attributes = type.attributes.filter { $0.value != "" }
        var kids = [type]
        kids += other
        if let kernel { kids.append(XElement("kernel", text: kernel)) }
        if let initrd { kids.append(XElement("initrd", text: initrd)) }
        if let cmdline { kids.append(XElement("cmdline", text: cmdline)) }
        kids += bootDevices.map { XElement("boot", [("dev", $0)]) }
        if let smbiosMode { kids.append(XElement("smbios", [("mode", smbiosMode)])) }
        e.children = kids.map(XElement.Node.element)
        return e
    }

    init(element e: XElement) {
        let t = e.first("type")
        self.init(arch: t?[attribute: "arch"], machine: t?[attribute: "machine"], kernel: e.first("kernel")?.text,
                  initrd: e.first("initrd")?.text, cmdline: e.first("cmdline")?.text, firmware: e[attribute: "firmware"],
                  bootDevices: e.all("boot").compactMap { $0[attribute: "dev"] }, smbiosMode: e.first("smbios")?[attribute: "mode"])
        let known: Set = ["type", "kernel", "initrd", "cmdline", "boot", "smbios"]
        other = e.elements.filter { !known.contains($0.name) }
    }
}

extension Domain.Sysinfo {
    func element() -> XElement {
        var e = XElement("sysinfo", [("type", "smbios")])
        let entries = system.map { XElement("entry", [("name", $0.name)], text: $0.value) }
        e.children = ([XElement("system", children: entries)] + other).map(XElement.Node.element)
        return e
    }

    init(element e: XElement) {
        system = e.first("system")?.all("entry").map { (name: $0[attribute: "name"] ?? "", value: $0.text ?? "") } ?? []
        other = e.elements.filter { $0.name != "system" }
    }
}

extension Domain.Devices {
    func element() -> XElement {
        var kids: [XElement] = []
        if let emulator { kids.append(XElement("emulator", text: emulator)) }
        kids += disks.map { $0.element() }
        kids += controllers.map { $0.element() }
        kids += other
        return XElement("devices", children: kids)
    }

    init(element e: XElement) {
        emulator = e.first("emulator")?.text
        disks = e.all("disk").map(Disk.init(element:))
        controllers = e.all("controller").map(Controller.init(element:))
        other = e.elements.filter { !["emulator", "disk", "controller"].contains($0.name) }
    }
}

extension Disk {
    func element() -> XElement {
        var e = XElement("disk", [("type", type), ("device", device)])
        var kids: [XElement] = []
        var driver = XElement("driver", [("name", "qemu"), ("type", driverType)])
        driver.attributes += driverOther.filter { $0.name != "name" && $0.name != "type" }
        kids.append(driver)
        if source != nil || !sourceOther.isEmpty || !sourceChildren.isEmpty {
            // A file or block disk names its image; a network disk has only protocol, name and hosts.
            let named: [(String, String?)] = source.map { [(type == "block" ? "dev" : "file", $0)] } ?? []
            var s = XElement("source", named)
            s.attributes += sourceOther
            s.children = sourceChildren.map(XElement.Node.element)
            kids.append(s)
        }
        kids.append(XElement("target", [("dev", targetDev), ("bus", targetBus)]))
        if let serial { kids.append(XElement("serial", text: serial)) }
        if shareable { kids.append(XElement("shareable")) }
        if readonly { kids.append(XElement("readonly")) }
        kids += other
        if let alias { kids.append(XElement("alias", [("name", alias)])) }
        if let address { kids.append(address.element()) }
        e.children = kids.map(XElement.Node.element)
        return e
    }

    init(element e: XElement) {
        let src = e.first("source")
        let tgt = e.first("target")
        self.init(type: e[attribute: "type"] ?? "file", device: e[attribute: "device"] ?? "disk",
                  driverType: e.first("driver")?[attribute: "type"], source: src?[attribute: "file"] ?? src?[attribute: "dev"],
                  targetDev: tgt?[attribute: "dev"] ?? "", targetBus: tgt?[attribute: "bus"], serial: e.first("serial")?.text,
                  shareable: e.first("shareable") != nil, readonly: e.first("readonly") != nil,
                  address: e.first("address").map(Address.init))
        driverOther = e.first("driver")?.attributes.filter { $0.name != "name" && $0.name != "type" } ?? []
        sourceOther = src?.attributes.filter { $0.name != "file" && $0.name != "dev" } ?? []
        sourceChildren = src?.elements ?? []
        alias = e.first("alias")?[attribute: "name"]
        let known: Set = ["driver", "source", "target", "serial", "shareable", "readonly", "alias", "address"]
        other = e.elements.filter { !known.contains($0.name) }
    }
}

extension Controller {
    func element() -> XElement {
        var e = XElement("controller", [("type", type), ("index", "\(index)"), ("model", model)])
        e.attributes += otherAttributes
        var kids = other
        if let address { kids.append(address.element()) }
        e.children = kids.map(XElement.Node.element)
        return e
    }

    init(element e: XElement) {
        self.init(type: e[attribute: "type"] ?? "", index: Int(e[attribute: "index"] ?? "0") ?? 0,
                  model: e[attribute: "model"], address: e.first("address").map(Address.init))
        otherAttributes = e.attributes.filter { !["type", "index", "model"].contains($0.name) }
        other = e.elements.filter { $0.name != "address" }
    }
}
