// Libvirt: Swift over libvirt's C API (CLibvirt): connections, domains, states, block jobs, typed
// LibvirtError. It knows nothing of vmserial: it must not import DomainXML, the registry or any
// module above it.
