"""The sandbox's deterministic stand-in for Workbench's knowledge base.

A file "matches" when one of these rules finds a license in it, checked in this order:
1. ``SPDX-License-Identifier: <id>`` lines (every id in the expression);
2. a ``License: <name>`` line in package metadata (PKG-INFO, METADATA), mapped to an SPDX id;
3. well-known license text fragments (MIT, Apache-2.0, BSD-3-Clause, GPL-2.0/3.0, LGPL-2.1).
Declarations (1, 2) are auto-identified when the scan runs with
``auto_identification_detect_declaration``; text matches (3) stand for knowledge-base matches and
stay pending identification, as they would until a person reviews them. Files with no license
match nothing. The component of a match is the top folder or archive the
file came from, split as ``name-version``.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

SPDX_LINE = re.compile(r"SPDX-License-Identifier:\s*([A-Za-z0-9.+\-() ]+)")
METADATA_LICENSE = re.compile(r"^License:\s*(.+)$", re.MULTILINE)
METADATA_NAMES = {
    "mit": "MIT",
    "apache 2.0": "Apache-2.0",
    "apache-2.0": "Apache-2.0",
    "bsd": "BSD-3-Clause",
    "gpl": "GPL-2.0-only",
    "gplv2": "GPL-2.0-only",
    "gplv3": "GPL-3.0-only",
    "lgpl": "LGPL-2.1-only",
}
TEXT_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("MIT", ("Permission is hereby granted, free of charge",)),
    ("Apache-2.0", ("Licensed under the Apache License, Version 2.0",)),
    ("BSD-3-Clause", ("Redistribution and use in source and binary forms", "Neither the name")),
    ("LGPL-2.1-only", ("GNU Lesser General Public License", "version 2.1")),
    ("GPL-3.0-only", ("GNU General Public License", "version 3")),
    ("GPL-2.0-only", ("GNU General Public License", "version 2")),
)
COPYLEFT = frozenset(
    {"GPL-2.0-only", "GPL-3.0-only", "LGPL-2.1-only", "AGPL-3.0-only", "GPL-2.0-or-later", "GPL-3.0-or-later"}
)
MAX_READ = 512 * 1024


def detect(text: str) -> tuple[list[str], str]:
    """(licenses, kind): kind "declaration" for SPDX lines and metadata, "text" for license texts."""
    found: list[str] = []
    for expression in SPDX_LINE.findall(text):
        for token in re.split(r"\s+(?:AND|OR|WITH)\s+|[()]", expression):
            token = token.strip()
            if token and token not in found:
                found.append(token)
    if found:
        return found, "declaration"
    for name in METADATA_LICENSE.findall(text):
        mapped = METADATA_NAMES.get(name.strip().lower())
        if mapped:
            return [mapped], "declaration"
    for license_id, fragments in TEXT_RULES:
        if all(fragment in text for fragment in fragments):
            return [license_id], "text"
    return [], ""


def component_of(path: str) -> tuple[str, str]:
    """``six-1.16.0.tar.gz/six-1.16.0/six.py`` → (``six``, ``1.16.0``)."""
    top = PurePosixPath(path).parts[0]
    top = re.sub(r"(\.tar\.gz|\.tgz|\.tar\.bz2|\.tar\.xz|\.tar|\.zip|\.whl|\.jar)$", "", top)
    top = top.split("-py2")[0].split("-py3")[0]
    match = re.match(r"^(.+?)[-_](\d[\w.]*)$", top)
    return (match.group(1), match.group(2)) if match else (top, "")
