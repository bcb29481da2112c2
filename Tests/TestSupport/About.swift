// TestSupport: writers of what the product only reads (Windows registry hives, SMBIOS tables as
// Windows saves them), for tests. No target under Sources/ may import it; it imports only the
// modules whose formats it writes (Inspection, Guestfs).
