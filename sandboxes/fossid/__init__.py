"""A FossID Workbench emulator: ``POST /api.php`` group/action envelope, uploads, time-driven
state machines for scans, extraction, dependency analysis, reports and deletes. See README.md."""
