// DomainXML: a small typed model of libvirt's domain XML (Domain, disks, sysinfo, vmserial's
// metadata) over a lossless element tree (XMLTree): what vmserial does not model is kept as it
// was. Pure: imports Foundation's XML parser only, never libvirt itself.
