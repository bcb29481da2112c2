// VMSerialKit: the commands end to end, for any front end: launch, verify (one cycle engine,
// probe and guest modes), migrate, inspect, scenario runs, run folders, signals. The one module
// the command line imports (Exports.swift re-exports the model modules its API is written in);
// it must not import ArgumentParser or print: output goes through `progress` callbacks and
// reports the front end renders.
