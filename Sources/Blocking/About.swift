// Blocking: runs work that blocks a thread (a libvirt or libguestfs C call, waiting for a child
// process, an event loop) on threads of its own, never on Swift's cooperative pool, which has one
// thread per core. It must not import any vmserial module, nor libvirt or libguestfs.
