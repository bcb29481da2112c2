import SerialPolicy

public enum RegistryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A user-given serial already belongs to another volume.
    case duplicateSerial(serial: String, volume: VolumeIdentity, heldBy: VolumeIdentity)
    /// The spec gives a volume a serial other than the one it has: the guest would see a new disk.
    case serialChange(volume: VolumeIdentity, registered: String, requested: String)
    /// The spec pins a UUID other than the one the VM has.
    case uuidMismatch(vm: String, registered: String, requested: String)
    case uuidTaken(uuid: String, vm: String, by: String)
    /// A shared volume's serial does not fit the bus this VM attaches it on.
    case serialTooLong(volume: VolumeIdentity, serial: String, bus: Bus)
    case notFound(vm: String)
    case volumeNotFound(VolumeIdentity)
    /// A move from a path that is not where the registry has the volume.
    case moveFromElsewhere(volume: VolumeIdentity, registered: String, from: String)
    case newerSchema(path: String)
    /// A registry location that is not usable as written (a PostgreSQL URL that does not parse,
    /// a bad schema name): bad input, exit 2. The message never holds a password.
    case badLocation(String)
    /// Entries of an import that break the rules a launch enforces (names, volumes, serials); nothing was written.
    case importInvalid([String])
    case storage(String)
    /// The server went away while committing: the transaction may or may not be recorded.
    case commitUnknown(String)
    case generationExhausted(attempts: Int)
    /// An import that would contradict the registry (or itself); nothing was written.
    case importConflicts([String])

    public var description: String {
        switch self {
        case let .duplicateSerial(serial, volume, heldBy):
            return "serial \(serial) for volume \(volume) is already held by volume \(heldBy); give one of them another serial, or remove \"serial\" to have one generated"
        case let .serialChange(volume, registered, requested):
            return "volume \(volume) has serial \(registered) in the registry but the spec gives \(requested); changing it makes the guest see a new disk. Remove \"serial\" from the spec (or set it to \(registered)) to keep the disk's identity"
        case let .uuidMismatch(vm, registered, requested):
            return "VM \(vm) has UUID \(registered) in the registry but the spec pins \(requested); remove \"uuid\" from the spec or set it to \(registered)"
        case let .uuidTaken(uuid, vm, by):
            return "UUID \(uuid) for VM \(vm) already belongs to VM \(by); remove \"uuid\" from the spec to have one made"
        case let .serialTooLong(volume, serial, bus):
            return "volume \(volume) has serial \(serial) (\(serial.utf8.count) characters) but bus \(bus.rawValue) keeps at most \(bus.serialLimit); attach it on a bus that fits (scsi keeps 36)"
        case let .notFound(vm):
            return "no VM named \(vm) in the registry; launch it first with `vmserial launch SPEC`"
        case let .volumeNotFound(v):
            return "no volume \(v) in the registry"
        case let .moveFromElsewhere(volume, registered, from):
            return "volume \(volume) is at \(registered) in the registry, not at \(from); the move was not recorded. Launch the VM again from its spec so the registry records where the disk is, or move it from \(registered)"
        case let .newerSchema(path):
            return "the registry \(path) was written by a newer vmserial (unknown schema migrations); upgrade vmserial or point --registry elsewhere"
        case let .badLocation(m):
            return m
        case let .importInvalid(list):
            return "import refused, nothing was written; \(list.count) entr\(list.count == 1 ? "y breaks" : "ies break") the rules a launch enforces:\n  " + list.joined(separator: "\n  ")
        case let .storage(m), let .commitUnknown(m):
            return "registry: \(m)"
        case let .generationExhausted(n):
            return "could not draw an unused serial in \(n) attempts; the registry may be corrupt"
        case let .importConflicts(list):
            return "import refused, nothing was written; \(list.count) conflict\(list.count == 1 ? "" : "s"):\n  " + list.joined(separator: "\n  ")
        }
    }
}
