// Inspection: what a guest OS recorded about disk and machine identity, and how it compares with
// the identity a VM presents now: Linux fstab/crypttab by-id entries, Windows SYSTEM hives (disk
// instances, MountedDevices, HardwareConfig, SAN policy), SMBIOS tables, partition tables.
// Imports Guestfs and SerialPolicy; it must not import libvirt, the registry or VMSerialKit.
