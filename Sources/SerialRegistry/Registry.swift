/// Where serials are kept. SQLite (`SQLiteRegistry`) is the default; every backend keeps
/// the same semantics: serial unique, one serial per volume, one UUID per VM name.
public protocol Registry: Sendable {
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
}

import SerialPolicy
