// Guestfs: Swift over libguestfs' C API (CGuestfs, the _argv functions) and hivex through the
// appliance: handles, drives, mounts, files, inspection. It knows nothing of vmserial's model: it
// must not import DomainXML, the registry or any module above it.
