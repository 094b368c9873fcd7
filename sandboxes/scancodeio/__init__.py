"""A ScanCode.io 38.2 REST API emulator for benchmarks: real run state machine, a worker pool, no scanning."""
