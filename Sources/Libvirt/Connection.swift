import CLibvirt

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs once per process, before the first connection: initialises libvirt, replaces
/// its default error handler, which would otherwise print every error to stderr (errors
/// reach callers only as thrown `LibvirtError`s), and starts the event loop, which must be
/// registered before a connection opens (see `EventLoop`).
private let libvirtSetUp: Void = {
    _ = virInitialize()
    virSetErrorFunc(nil) { _, _ in }
    _ = EventLoop.running
}()

/// A connection to a libvirt driver (`virConnectPtr`), closed when the last reference
/// (including every `Domain` obtained from it) goes away.
///
/// libvirt connections are thread-safe, so a `Connection` can be shared across tasks.
public final class Connection: @unchecked Sendable {
    let pointer: virConnectPtr
    private let requestedURI: String?

    /// Opens a read-write connection.
    ///
    /// - Parameter uri: a libvirt URI (`qemu:///system`, `qemu:///session`,
    ///   `test:///default`, …), or nil for libvirt's default (`LIBVIRT_DEFAULT_URI`,
    ///   then the client configuration).
    /// - Throws: `LibvirtError` of kind `.connectionFailed`, whatever libvirt's code.
    public init(uri: String?) throws {
        _ = libvirtSetUp
        guard let pointer = virConnectOpen(uri) else {
            // libvirt's message rarely names the URI: an unknown scheme falls through to
            // the remote driver and reports only the daemon socket it could not reach.
            throw LibvirtError.last(fallback: "unknown error", kindOverride: .connectionFailed)
                .prefixed("cannot connect to libvirt at \(uri.map { "'\($0)'" } ?? "the default URI")")
        }
        self.pointer = pointer
        self.requestedURI = uri
    }

    deinit {
        virConnectClose(pointer)
    }

    /// The canonical URI of the open connection (`virConnectGetURI`), e.g.
    /// `qemu:///session` even when the connection was opened with nil.
    public var uri: String {
        guard let cString = virConnectGetURI(pointer) else {
            return requestedURI ?? ""
        }
        defer { free(cString) }
        return String(cString: cString)
    }

    /// Defines (or redefines) a persistent domain from its XML, without starting it.
    public func defineDomain(xml: String) throws -> Domain {
        guard let domain = virDomainDefineXML(pointer, xml) else {
            throw LibvirtError.last(fallback: "cannot define domain")
        }
        return Domain(pointer: domain, connection: self)
    }

    /// Creates and starts a transient domain (`virDomainCreateXML`).
    ///
    /// - Parameters:
    ///   - autodestroy: kill the guest when this connection closes
    ///     (`VIR_DOMAIN_START_AUTODESTROY`).
    ///   - paused: QEMU starts with its CPUs stopped (`VIR_DOMAIN_START_PAUSED`): the firmware
    ///     runs only after `Domain.resume()`.
    public func createTransientDomain(xml: String, autodestroy: Bool = false, paused: Bool = false) throws -> Domain {
        let flags = (autodestroy ? VIR_DOMAIN_START_AUTODESTROY.rawValue : 0) | (paused ? VIR_DOMAIN_START_PAUSED.rawValue : 0)
        guard let domain = virDomainCreateXML(pointer, xml, flags) else {
            throw LibvirtError.last(fallback: "cannot create transient domain")
        }
        return Domain(pointer: domain, connection: self)
    }

    /// The domain with this name, active or not.
    /// - Throws: `LibvirtError` of kind `.noDomain` when there is none.
    public func lookupDomain(name: String) throws -> Domain {
        guard let domain = virDomainLookupByName(pointer, name) else {
            // Some drivers (test:///) say only "Domain not found".
            throw LibvirtError.last(fallback: "Domain not found").naming("domain '\(name)'", name)
        }
        return Domain(pointer: domain, connection: self)
    }

    /// The domain with this UUID (any of libvirt's accepted spellings).
    /// - Throws: `LibvirtError` of kind `.noDomain` when there is none.
    public func lookupDomain(uuid: String) throws -> Domain {
        guard let domain = virDomainLookupByUUIDString(pointer, uuid) else {
            throw LibvirtError.last(fallback: "Domain not found")
                .naming("domain with UUID '\(uuid)'", uuid)
        }
        return Domain(pointer: domain, connection: self)
    }

    /// Whether a domain with this name exists (active or defined).
    public func domainExists(name: String) throws -> Bool {
        do {
            _ = try lookupDomain(name: name)
            return true
        } catch let error as LibvirtError where error.kind == .noDomain {
            return false
        }
    }

    /// The names of all domains, active and inactive, persistent and transient.
    public func listDomainNames() throws -> [String] {
        var domains: UnsafeMutablePointer<virDomainPtr?>?
        let count = virConnectListAllDomains(pointer, &domains, 0)
        guard count >= 0 else {
            throw LibvirtError.last(fallback: "cannot list domains")
        }
        guard let domains else { return [] }
        // The caller owns the array and a reference on each domain in it.
        defer { free(domains) }
        var names: [String] = []
        names.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            guard let domain = domains[index] else { continue }
            if let name = virDomainGetName(domain) {
                names.append(String(cString: name))
            }
            virDomainFree(domain)
        }
        return names
    }

    /// The host capabilities document (`virConnectGetCapabilities`).
    public func capabilitiesXML() throws -> String {
        guard let cString = virConnectGetCapabilities(pointer) else {
            throw LibvirtError.last(fallback: "cannot read host capabilities")
        }
        defer { free(cString) }
        return String(cString: cString)
    }

    /// The domain capabilities document for an emulator (`virConnectGetDomainCapabilities`):
    /// which devices, buses and firmware a guest of this type and machine can use.
    ///
    /// - Parameters:
    ///   - virtType: `kvm` or `qemu` (TCG); nil for the driver's default.
    ///   - machine: a machine type such as `q35` or `pc`; nil for the emulator's default.
    public func domainCapabilitiesXML(virtType: String?, machine: String?) throws -> String {
        guard let cString = virConnectGetDomainCapabilities(pointer, nil, nil, machine, virtType, 0)
        else {
            throw LibvirtError.last(fallback: "cannot read domain capabilities")
        }
        defer { free(cString) }
        return String(cString: cString)
    }
}

/// The libvirt library this process is linked against.
public enum LibvirtVersion {
    /// The library version as `major.minor.release`, e.g. `9.0.0` (`virGetVersion`).
    public static func library() -> String {
        _ = libvirtSetUp
        var version: UInt = 0
        guard virGetVersion(&version, nil, nil) == 0 else { return "unknown" }
        return "\(version / 1_000_000).\(version / 1_000 % 1_000).\(version % 1_000)"
    }
}
