import Foundation
import SerialPolicy

/// A VM as the user writes it (JSON). Never written back: it may live in Git.
public struct VMSpec: Equatable, Sendable {
    public var name: String
    public var uuid: String?
    public var memoryMiB: Int
    public var vcpus: Int
    public var accel: Accel
    public var machine: Machine
    public var boot: Boot
    public var smbios: SMBIOS
    public var generateDiskSerials: Bool
    public var disks: [Disk]

    public enum Accel: String, Codable, Sendable, CaseIterable { case auto, kvm, tcg }
    /// `pc` (i440fx, the default: every device on PCI bus 0) or `q35`.
    public enum Machine: String, Codable, Sendable, CaseIterable { case pc, q35 }

    public enum Boot: Equatable, Sendable {
        case kernel(kernel: String, initrd: String?, cmdline: String?)
        case firmware(Firmware)
    }

    public enum Firmware: String, Codable, Sendable, CaseIterable { case bios, uefi }

    public struct SMBIOS: Equatable, Sendable {
        public enum Mode: String, Codable, Sendable, CaseIterable {
            /// Serial = the instance UUID (Nova's "unique"): the identity travels with the guest.
            case unique
            /// No `<sysinfo>` serial at all.
            case none
            /// The host's /etc/machine-id as a UUID (Nova's "os"): every guest on a host shares it.
            case host
            /// `serial` as given.
            case custom
        }
        public var mode: Mode
        public var serial: String?
        public init(mode: Mode = .unique, serial: String? = nil) {
            self.mode = mode
            self.serial = serial
        }
    }

    public struct Disk: Equatable, Sendable {
        public var name: String
        public var volume: String?
        public var source: String
        public var format: Format?
        public var bus: Bus
        public var target: String?
        public var serial: String?
        public var shareable: Bool

        public enum Format: String, Codable, Sendable, CaseIterable { case qcow2, raw }

        public init(name: String, volume: String? = nil, source: String, format: Format? = nil,
                    bus: Bus = .virtio, target: String? = nil, serial: String? = nil, shareable: Bool = false) {
            self.name = name
            self.volume = volume
            self.source = source
            self.format = format
            self.bus = bus
            self.target = target
            self.serial = serial
            self.shareable = shareable
        }
    }

    public init(name: String, uuid: String? = nil, memoryMiB: Int = 512, vcpus: Int = 1, accel: Accel = .auto,
                machine: Machine = .pc, boot: Boot, smbios: SMBIOS = SMBIOS(), generateDiskSerials: Bool = true,
                disks: [Disk]) {
        self.name = name
        self.uuid = uuid
        self.memoryMiB = memoryMiB
        self.vcpus = vcpus
        self.accel = accel
        self.machine = machine
        self.boot = boot
        self.smbios = smbios
        self.generateDiskSerials = generateDiskSerials
        self.disks = disks
    }
}

// MARK: - Codable with explicit keys; optional keys default so older files keep loading.

extension VMSpec: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, uuid, memoryMiB, vcpus, accel, machine, boot, smbios, generateDiskSerials, disks
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        uuid = try c.decodeIfPresent(String.self, forKey: .uuid)
        memoryMiB = try c.decodeIfPresent(Int.self, forKey: .memoryMiB) ?? 512
        vcpus = try c.decodeIfPresent(Int.self, forKey: .vcpus) ?? 1
        accel = try c.decodeIfPresent(Accel.self, forKey: .accel) ?? .auto
        machine = try c.decodeIfPresent(Machine.self, forKey: .machine) ?? .pc
        boot = try c.decodeIfPresent(Boot.self, forKey: .boot) ?? .firmware(.bios)
        smbios = try c.decodeIfPresent(SMBIOS.self, forKey: .smbios) ?? SMBIOS()
        generateDiskSerials = try c.decodeIfPresent(Bool.self, forKey: .generateDiskSerials) ?? true
        disks = try c.decodeIfPresent([Disk].self, forKey: .disks) ?? []
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(uuid, forKey: .uuid)
        try c.encode(memoryMiB, forKey: .memoryMiB)
        try c.encode(vcpus, forKey: .vcpus)
        try c.encode(accel, forKey: .accel)
        try c.encode(machine, forKey: .machine)
        try c.encode(boot, forKey: .boot)
        try c.encode(smbios, forKey: .smbios)
        try c.encode(generateDiskSerials, forKey: .generateDiskSerials)
        try c.encode(disks, forKey: .disks)
    }
}

extension VMSpec.Boot: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable { case kernel, initrd, cmdline, firmware }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kernel = try c.decodeIfPresent(String.self, forKey: .kernel)
        let firmware = try c.decodeIfPresent(VMSpec.Firmware.self, forKey: .firmware)
        switch (kernel, firmware) {
        case let (k?, nil):
            self = .kernel(kernel: k,
                           initrd: try c.decodeIfPresent(String.self, forKey: .initrd),
                           cmdline: try c.decodeIfPresent(String.self, forKey: .cmdline))
        case let (nil, f?):
            if c.contains(.initrd) || c.contains(.cmdline) {
                throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath,
                    debugDescription: "initrd and cmdline go with kernel, not with firmware"))
            }
            self = .firmware(f)
        case (_?, _?):
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath,
                debugDescription: "give either kernel (direct kernel boot) or firmware (boot from the first disk), not both"))
        case (nil, nil):
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath,
                debugDescription: "give kernel (with optional initrd, cmdline) or firmware (\"bios\" or \"uefi\")"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case let .kernel(k, i, cmd):
            try c.encode(k, forKey: .kernel)
            try c.encodeIfPresent(i, forKey: .initrd)
            try c.encodeIfPresent(cmd, forKey: .cmdline)
        case let .firmware(f):
            try c.encode(f, forKey: .firmware)
        }
    }
}

extension VMSpec.SMBIOS: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable { case mode, serial }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mode = try c.decodeIfPresent(Mode.self, forKey: .mode) ?? .unique
        serial = try c.decodeIfPresent(String.self, forKey: .serial)
    }
}

extension VMSpec.Disk: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, volume, source, format, bus, target, serial, shareable
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        volume = try c.decodeIfPresent(String.self, forKey: .volume)
        source = try c.decode(String.self, forKey: .source)
        format = try c.decodeIfPresent(Format.self, forKey: .format)
        bus = try c.decodeIfPresent(Bus.self, forKey: .bus) ?? .virtio
        target = try c.decodeIfPresent(String.self, forKey: .target)
        serial = try c.decodeIfPresent(String.self, forKey: .serial)
        shareable = try c.decodeIfPresent(Bool.self, forKey: .shareable) ?? false
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(volume, forKey: .volume)
        try c.encode(source, forKey: .source)
        try c.encodeIfPresent(format, forKey: .format)
        try c.encode(bus, forKey: .bus)
        try c.encodeIfPresent(target, forKey: .target)
        try c.encodeIfPresent(serial, forKey: .serial)
        if shareable { try c.encode(shareable, forKey: .shareable) }
    }
}
