// VMSpec: the user's VM spec. Codable with strict keys, validated (every problem at once, each
// with its field and a fix) and resolved (absolute paths, targets assigned) into a ResolvedSpec.
// Imports SerialPolicy only; it never talks to libvirt, the registry or the file system beyond
// reading the spec and checking that its images exist.
