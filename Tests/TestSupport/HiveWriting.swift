import Guestfs
import Inspection

extension Guestfs {
    /// Writes `key`'s values and subkeys into the open hive (opened with `write: true`) below
    /// `node`, the hive's root when nil: missing keys are added, values set (replacing a value
    /// of the same name). The key's own name is not used: it stands for `node`. Call
    /// `hivexCommit()` to save.
    public func hivexMerge(_ key: RegistryKey, into node: Int64? = nil) throws {
        let target = try node ?? hivexRoot()
        for v in key.values {
            try hivexNodeSetValue(target, key: v.name, type: v.type, value: v.data)
        }
        for sub in key.subkeys {
            let child = try hivexNodeGetChild(target, sub.name) ?? hivexNodeAddChild(target, sub.name)
            try hivexMerge(sub, into: child)
        }
    }
}
