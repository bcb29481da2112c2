// ProcessRunner: the one way vmserial and its tests run another program (spawn, stdin, capture or
// stream, timeout, SIGTERM then SIGKILL, exit seen through the termination handler). It knows
// programs, not VMs: it must not import any vmserial module but Blocking.
