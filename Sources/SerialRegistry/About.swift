// SerialRegistry: where assignments live. The Registry protocol, the allocation rules written
// once (Allocation) and run by both backends inside their transactions: SQLite (GRDB) by default,
// PostgreSQL (postgres-nio) for fleets. Imports SerialPolicy and its database libraries; it must
// not import libvirt, DomainXML or anything above it.
