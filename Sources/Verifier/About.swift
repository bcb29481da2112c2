// Verifier: what a guest reported and whether it matches. The report parser (ProbeReport), device
// locations from sysfs and from the domain XML, the comparison with the registry's expected
// identity (Comparator), cycle plans, and the verify report's table, JSON and JUnit. Pure: imports
// DomainXML and SerialPolicy only; booting and reading guests is VMSerialKit's.
