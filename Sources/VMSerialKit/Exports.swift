// VMSerialKit is the one module the command line (and any other front end) imports. Its public
// API is written in the model types of the modules below it: specs, serial rules, registry
// records, verify and scenario reports, the libvirt connection. They are re-exported so a
// front end names them without depending on those modules itself. The modules that do work a
// front end must not do directly (DomainXML, Guestfs, Inspection) are not re-exported.
@_exported import Libvirt
@_exported import Scenario
@_exported import SerialPolicy
@_exported import SerialRegistry
@_exported import Verifier
@_exported import VMSpec
