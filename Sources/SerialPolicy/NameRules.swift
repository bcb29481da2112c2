/// What a VM, disk or volume may be called. The same rules hold wherever a name enters
/// vmserial (a spec, a registry import): names become libvirt domain names, parts of volume
/// identities and parts of file names (migration targets, run folders).
public enum NameRules {
    /// Letters, digits, '_', '.', '-' (ASCII).
    public static func isNameCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "." || c == "-")
    }

    /// A VM name: name characters only, not starting with '.' or '-' (no "..", no option-like name).
    public static func isValidVMName(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy(isNameCharacter) && !name.hasPrefix(".") && !name.hasPrefix("-")
    }

    /// A disk name: name characters only.
    public static func isValidDiskName(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy(isNameCharacter)
    }

    /// A volume name a spec may give (`"volume": …`): not empty, no white space or control character.
    public static func isValidVolumeName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains { $0.isWhitespace || $0.isNewline || ($0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } ?? false) }
    }
}

extension Bus {
    /// Whether `target` is one of this bus's libvirt target names (vda, vdb, …, sdaa …).
    public func accepts(target: String) -> Bool {
        target.hasPrefix(targetPrefix) && target.count > 2 && target.dropFirst(2).allSatisfy { $0 >= "a" && $0 <= "z" }
    }
}

extension VolumeIdentity {
    /// Whether a spec could have produced this identity: a volume name, or `<vm>/<disk>` (a valid volume name too).
    public var isValid: Bool { NameRules.isValidVolumeName(value) }
}
