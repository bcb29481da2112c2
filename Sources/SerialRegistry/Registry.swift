/// Where serials are kept. SQLite (`SQLiteRegistry`) is the default, PostgreSQL
/// (`PostgresRegistry`) is shared by a fleet; every backend keeps the same semantics: serial
/// unique, one serial per volume, one UUID per VM name. `RegistryFactory` picks one.
public protocol Registry: Sendable {
    /// Where the registry lives, as shown to a person: a file path, or a URL without its password.
    var path: String { get }
    /// Assigns (or re-reads) identities for a VM in one transaction. `apply` runs inside
    /// it (vmserial defines the domain there); if `apply` throws, nothing is recorded.
    func assign(_ request: AssignmentRequest, apply: (Assignment) throws -> Void) throws -> Assignment
    /// What `assign` would give, without writing anything (new serials are drawn but not kept).
    func preview(_ request: AssignmentRequest) throws -> Assignment
    func assignment(vm: String) throws -> Assignment?
    func assignments() throws -> [Assignment]
    /// The resolved spec JSON stored at the VM's last launch.
    func specJSON(vm: String) throws -> String?
    /// Records that a volume's data now lives at `newPath`, inside one transaction with `apply`.
    func recordMove(volume: VolumeIdentity, from oldPath: String, to newPath: String, apply: () throws -> Void) throws
    func moves(volume: VolumeIdentity) throws -> [VolumeMove]
    /// Everything the registry holds, backend-neutral.
    func export() throws -> RegistryDump
    /// Adds a dump in one transaction; refuses (writing nothing) when any row conflicts.
    func importDump(_ dump: RegistryDump) throws -> ImportSummary
    /// Inconsistencies in the registry itself (duplicates, volumes bound to two paths), one line each.
    func check() throws -> [String]
}

import SerialPolicy
