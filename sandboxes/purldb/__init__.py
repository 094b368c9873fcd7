"""A PurlDB emulator: packages, resources, checksum filters, validate, collect, package sets,
to/from purl, and MatchCode-style matching runs, over an index seeded from real archives."""
