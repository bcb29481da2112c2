// TestSupport: writers of what the product only reads (Windows registry hives, SMBIOS tables as
// Windows saves them), and readers of what only tests look at (a child's signal masks in /proc),
// for tests. No target under Sources/ may import it; it imports only the modules whose formats
// it writes (Inspection, Guestfs).
