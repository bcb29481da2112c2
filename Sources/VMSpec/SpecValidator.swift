import Foundation
import SerialPolicy

/// Checks a decoded spec against the rules of libvirt, QEMU and vmserial, and resolves it.
public enum SpecValidator {
    /// Validates `spec` and resolves its paths against `baseDirectory`.
    /// With `checkFiles: false` missing files are not an error (used by tests of the pure rules).
    public static func resolve(_ spec: VMSpec, specPath: String?, baseDirectory: String,
                               checkFiles: Bool = true) throws -> ResolvedSpec {
        var problems: [SpecProblem] = []
        func fail(_ field: String, _ message: String, _ fix: String) {
            problems.append(SpecProblem(field, message, fix: fix))
        }
        let fm = FileManager.default
        func absolute(_ p: String) -> String {
            let expanded = (p as NSString).expandingTildeInPath
            if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded).standardizedFileURL.path }
            return URL(fileURLWithPath: baseDirectory).appendingPathComponent(expanded).standardizedFileURL.path
        }
        func checkFile(_ field: String, _ raw: String, _ what: String) -> String {
            let path = absolute(raw)
            var isDir: ObjCBool = false
            if checkFiles {
                if !fm.fileExists(atPath: path, isDirectory: &isDir) {
                    fail(field, "\(what) \(path) does not exist", "create it or correct the path (relative paths resolve against the spec's folder)")
                } else if isDir.boolValue {
                    fail(field, "\(what) \(path) is a folder, not a file", "point at the image file")
                } else if !fm.isReadableFile(atPath: path) {
                    fail(field, "\(what) \(path) is not readable", "fix its permissions")
                }
            }
            return path
        }

        // name: libvirt allows more, but the name is also part of volume identities and file names.
        if spec.name.isEmpty {
            fail("name", "the name is empty", "give the VM a name such as \"vm1\"")
        } else if !NameRules.isValidVMName(spec.name) {
            fail("name", "\"\(spec.name)\" has characters other than letters, digits, '_', '.', '-' or starts with '.' or '-'", "rename it, e.g. \"vm1\"")
        }
        if let u = spec.uuid, UUID(uuidString: u) == nil {
            fail("uuid", "\"\(u)\" is not a UUID", "remove it (vmserial creates one per VM) or give 8-4-4-4-12 hex digits")
        }
        if spec.memoryMiB < 16 {
            fail("memoryMiB", "\(spec.memoryMiB) MiB is too little (must be at least 16)", "give e.g. 512")
        } else if spec.memoryMiB > 16 * 1024 * 1024 {
            fail("memoryMiB", "\(spec.memoryMiB) MiB is more than 16 TiB", "give the size in MiB, e.g. 512")
        }
        if spec.vcpus < 1 || spec.vcpus > 1024 {
            fail("vcpus", "\(spec.vcpus) is not between 1 and 1024", "give e.g. 1")
        }

        let boot: ResolvedSpec.ResolvedBoot
        switch spec.boot {
        case let .kernel(kernel, initrd, cmdline):
            let k = checkFile("boot.kernel", kernel, "kernel")
            let i = initrd.map { checkFile("boot.initrd", $0, "initrd") }
            if let c = cmdline, c.contains("\n") {
                fail("boot.cmdline", "the kernel command line has a newline", "put it on one line")
            }
            boot = .kernel(kernel: k, initrd: i, cmdline: cmdline)
        case let .firmware(f):
            boot = .firmware(f)
            if spec.disks.isEmpty {
                fail("boot.firmware", "firmware boot starts from the first disk, but there are no disks", "add a bootable disk or use a direct kernel boot")
            }
        }

        switch spec.smbios.mode {
        case .custom:
            if let s = spec.smbios.serial {
                if s.isEmpty || s.count > 64 || !s.allSatisfy({ $0.isASCII && !($0.asciiValue! < 0x20 || $0.asciiValue! == 0x7f) }) {
                    fail("smbios.serial", "\"\(s)\" must be 1 to 64 printable ASCII characters", "shorten it or remove control characters")
                }
            } else {
                fail("smbios.serial", "mode \"custom\" needs a serial", "add \"serial\": \"…\" or use mode \"unique\"")
            }
        case .unique, .none, .host:
            if spec.smbios.serial != nil {
                fail("smbios.serial", "a serial is only used with mode \"custom\" (mode is \"\(spec.smbios.mode.rawValue)\")", "set \"mode\": \"custom\" or remove \"serial\"")
            }
        }

        var disks: [ResolvedDisk] = []
        var names: [String: Int] = [:]
        var volumes: [String: Int] = [:]
        var targets: [String: Int] = [:]
        var serials: [String: Int] = [:]
        var next: [String: Int] = [:]  // next free index per target prefix
        // Explicit targets first, so automatic ones fill around them.
        let explicit = Set(spec.disks.compactMap(\.target))
        for (i, d) in spec.disks.enumerated() {
            let at = "disks[\(i)]"
            let label = d.name.isEmpty ? at : "disk \"\(d.name)\""
            if d.name.isEmpty {
                fail("\(at).name", "the disk name is empty", "give it a name such as \"root\"")
            } else if !NameRules.isValidDiskName(d.name) {
                fail("\(at).name", "\"\(d.name)\" has characters other than letters, digits, '_', '.', '-'", "rename it, e.g. \"data\"")
            } else if let j = names[d.name] {
                fail("\(at).name", "disk name \"\(d.name)\" is used by disks[\(j)] too", "give each disk its own name")
            } else {
                names[d.name] = i
            }
            // Compare volume identities, not only named volumes: a disk "data" without a volume is
            // volume "vm1/data", so another disk naming volume "vm1/data" would get the same serial.
            let identity = VolumeIdentity.of(vm: spec.name, disk: d.name, volume: d.volume).value
            if let v = d.volume, !NameRules.isValidVolumeName(v) {
                fail("\(at).volume", "volume \"\(v)\" is empty or has white space", "give a name such as \"team-share\"")
            } else if d.volume != nil || names[d.name] == i {  // a repeated disk name is reported above
                if let j = volumes[identity] {
                    fail("\(at).volume", "volume \"\(identity)\" is attached twice (also disks[\(j)])",
                         "attach a volume once per VM (a disk without \"volume\" is volume \"<vm>/<disk>\")")
                } else {
                    volumes[identity] = i
                }
            }
            let source = checkFile("\(at).source", d.source, "\(label): image")
            var format = d.format
            if format == nil {
                format = checkFiles ? detectFormat(path: source) : .raw
            }

            var target: String
            if let t = d.target {
                target = t
                if !d.bus.accepts(target: t) {
                    fail("\(at).target", "\"\(t)\" does not fit bus \(d.bus.rawValue) (its targets are \(d.bus.targetPrefix)a, \(d.bus.targetPrefix)b, …)", "use \(d.bus.targetPrefix)a… or leave target out")
                }
            } else {
                let prefix = d.bus.targetPrefix
                repeat {
                    let n = next[prefix, default: 0]
                    next[prefix] = n + 1
                    target = prefix + driveLetters(n)
                } while explicit.contains(target)
            }
            if let j = targets[target] {
                fail("\(at).target", "target \(target) is used by disks[\(j)] too", "give each disk its own target or leave targets out")
            } else {
                targets[target] = i
            }

            if let s = d.serial {
                for p in SerialRules.problems(serial: s, bus: d.bus) {
                    let fix: String
                    switch p {
                    case .empty: fix = "remove \"serial\" to have one generated, or give one"
                    case let .tooLong(_, limit, _): fix = "use at most \(limit) characters, or remove \"serial\" to have one generated"
                    case .badCharacters: fix = "use only letters, digits, '_', '.', '+', '-'"
                    }
                    fail("\(at).serial", "\(label) on bus \(d.bus.rawValue): \(p)", fix)
                }
                if let j = serials[s] {
                    fail("\(at).serial", "serial \"\(s)\" is also given to disks[\(j)]", "give each disk its own serial")
                } else {
                    serials[s] = i
                }
            }
            if d.shareable && format == .qcow2 {
                // QEMU cannot share a qcow2 image between writers: metadata would be corrupted.
                fail("\(at).shareable", "\(label) is shareable but its image is qcow2", "use a raw image for a disk shared between VMs")
            }
            disks.append(ResolvedDisk(name: d.name, volume: .of(vm: spec.name, disk: d.name, volume: d.volume),
                                      source: source, format: format ?? .raw, bus: d.bus, target: target,
                                      serial: d.serial, shareable: d.shareable))
        }

        if !problems.isEmpty { throw SpecError.invalid(path: specPath ?? "<spec>", problems: problems) }
        return ResolvedSpec(spec: spec, specPath: specPath, boot: boot, disks: disks)
    }

    /// a…z, aa…az, ba… as libvirt numbers drives.
    public static func driveLetters(_ n: Int) -> String {
        var n = n
        var s = ""
        repeat {
            s = String(UnicodeScalar(UInt8(97 + n % 26))) + s
            n = n / 26 - 1
        } while n >= 0
        return s
    }

    /// qcow2 when the file starts with "QFI\xfb", raw otherwise.
    public static func detectFormat(path: String) -> VMSpec.Disk.Format {
        guard let h = FileHandle(forReadingAtPath: path) else { return .raw }
        defer { try? h.close() }
        let magic = (try? h.read(upToCount: 4)) ?? Data()
        return magic == Data([0x51, 0x46, 0x49, 0xfb]) ? .qcow2 : .raw
    }
}
