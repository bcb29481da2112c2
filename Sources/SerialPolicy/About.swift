// SerialPolicy: what a disk serial may be. Buses and their limits, the characters each accepts,
// the generator of vmserial's serials, the by-id names udev builds from them, volume identities.
// Pure rules: it imports nothing of vmserial and no system library (no libvirt, no libguestfs,
// no Foundation file or process calls).
