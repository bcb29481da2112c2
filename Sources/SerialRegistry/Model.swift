import SerialPolicy

/// What a launch asks the registry for.
public struct AssignmentRequest: Sendable, Equatable {
    public var vm: String
    /// A UUID pinned by the spec; otherwise the registry makes one on first launch.
    public var uuid: String?
    public var smbiosMode: String
    /// For mode custom: the serial; for host: the host's machine UUID. Unique derives it from the UUID.
    public var smbiosSerial: String?
    public var generateDiskSerials: Bool
    public var disks: [DiskRequest]
    /// The resolved spec as JSON, kept so a VM can be launched again without its file.
    public var specJSON: String?

    public init(vm: String, uuid: String?, smbiosMode: String, smbiosSerial: String?,
                generateDiskSerials: Bool, disks: [DiskRequest], specJSON: String? = nil) {
        self.specJSON = specJSON
        self.vm = vm
        self.uuid = uuid
        self.smbiosMode = smbiosMode
        self.smbiosSerial = smbiosSerial
        self.generateDiskSerials = generateDiskSerials
        self.disks = disks
    }

    public struct DiskRequest: Sendable, Equatable {
        public var name: String
        public var volume: VolumeIdentity
        public var bus: Bus
        public var target: String
        public var source: String
        /// The serial the user wrote in the spec, if any.
        public var serial: String?

        public init(name: String, volume: VolumeIdentity, bus: Bus, target: String, source: String, serial: String?) {
            self.name = name
            self.volume = volume
            self.bus = bus
            self.target = target
            self.source = source
            self.serial = serial
        }
    }
}

/// What a VM has been given: its UUID, SMBIOS serial and one serial per disk.
public struct Assignment: Sendable, Equatable, Codable {
    public var vm: String
    public var uuid: String
    public var smbiosMode: String
    public var smbiosSerial: String?
    public var disks: [AssignedDisk]
    /// Things the user should know (a volume the registry saw move, a serial not applied).
    public var warnings: [String]

    public init(vm: String, uuid: String, smbiosMode: String, smbiosSerial: String?, disks: [AssignedDisk], warnings: [String] = []) {
        self.vm = vm
        self.uuid = uuid
        self.smbiosMode = smbiosMode
        self.smbiosSerial = smbiosSerial
        self.disks = disks
        self.warnings = warnings
    }

    public func disk(named name: String) -> AssignedDisk? { disks.first { $0.name == name } }
}

public struct AssignedDisk: Sendable, Equatable, Codable {
    public var name: String
    public var volume: VolumeIdentity
    public var bus: Bus
    public var target: String
    public var source: String
    /// nil when the disk has no serial (generation turned off and none given).
    public var serial: String?
    public var generated: Bool

    public init(name: String, volume: VolumeIdentity, bus: Bus, target: String, source: String, serial: String?, generated: Bool) {
        self.name = name
        self.volume = volume
        self.bus = bus
        self.target = target
        self.source = source
        self.serial = serial
        self.generated = generated
    }
}

/// A recorded storage migration of a volume.
public struct VolumeMove: Sendable, Equatable, Codable {
    public var volume: VolumeIdentity
    public var oldPath: String
    public var newPath: String
    public var at: String
}
