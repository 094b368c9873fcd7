"""A fault-injecting HTTP proxy for a real server in the stack (ScanCode.io): see README.md."""
