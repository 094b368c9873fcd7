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


# SPDX License List identifiers the sandbox may meet (the detection rules above, plus common ids
# seen in SPDX-License-Identifier lines). Ids outside this set are written as LicenseRef-… in
# SPDX documents, as the SPDX 2.3 spec requires for licenses not on the list.
LISTED_LICENSES = frozenset(
    {
        "0BSD",
        "AGPL-3.0-only",
        "AGPL-3.0-or-later",
        "Apache-1.1",
        "Apache-2.0",
        "Artistic-2.0",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "BSL-1.0",
        "CC0-1.0",
        "CC-BY-4.0",
        "CC-BY-SA-4.0",
        "CDDL-1.0",
        "EPL-1.0",
        "EPL-2.0",
        "GPL-2.0-only",
        "GPL-2.0-or-later",
        "GPL-3.0-only",
        "GPL-3.0-or-later",
        "ISC",
        "LGPL-2.1-only",
        "LGPL-2.1-or-later",
        "LGPL-3.0-only",
        "LGPL-3.0-or-later",
        "MIT",
        "MPL-2.0",
        "PSF-2.0",
        "Python-2.0",
        "Unlicense",
        "Zlib",
    }
)

# The sandbox's stand-in for Workbench's vulnerability database: real advisories for a few
# (component, version) pairs, matched against identified components and against dependencies
# pinned to one exact version. (cve, severity, CVSS v3 base score) per NVD.
ADVISORIES: dict[tuple[str, str], tuple[tuple[str, str, float], ...]] = {
    ("log4j-core", "2.14.1"): (
        ("CVE-2021-44228", "CRITICAL", 10.0),
        ("CVE-2021-45046", "CRITICAL", 9.0),
        ("CVE-2021-44832", "MEDIUM", 6.6),
    ),
    ("urllib3", "1.26.4"): (("CVE-2021-33503", "HIGH", 7.5),),
    ("requests", "2.31.0"): (("CVE-2024-35195", "MEDIUM", 5.6),),
    ("lodash", "4.17.20"): (("CVE-2021-23337", "HIGH", 7.2),),
    ("jinja2", "3.1.2"): (("CVE-2024-22195", "MEDIUM", 5.4),),
}
