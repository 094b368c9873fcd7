"""Deterministic ScanCode.io project names, so a retried task finds what it created."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 100


def project_name(*parts: str, prefix: str = "sca") -> str:
    """``prefix-<readable parts>-<hash of all parts>``: stable for the same inputs, unique otherwise.

    The readable part is trimmed to keep the name short; the 12-hex hash covers every part in full,
    so two long inputs that share a prefix still get different names.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]
    readable = _UNSAFE.sub("-", "-".join(p for p in parts if p)).strip("-")
    room = MAX_NAME - len(prefix) - len(digest) - 2
    return f"{prefix}-{readable[:room].rstrip('-')}-{digest}" if readable else f"{prefix}-{digest}"


def project_slug(name: str, uuid: str) -> str:
    """The project's slug in ScanCode.io's UI: Django's ``slugify(name)`` + the uuid's first 8 chars."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", ascii_name.lower())).strip("-_")
    return f"{slug}-{str(uuid)[:8]}"
