"""Scan keys: what makes two scans the same scan. No Airflow, no I/O.

A scan key is the sha256 of the input bytes, the tool, and a hash of that tool's settings
(pipelines with their groups, FossID options, the server version where the server says it). The
same bytes with the same settings reach the same key however they were given (URL, purl, file),
so the remote object named after the key is found again instead of created twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TOOLS = ("scancodeio", "purldb", "fossid")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".whl", ".zip", ".jar", ".gem", ".tar")
MAX_REMOTE_NAME = 96  # + "-g<n>" for a rescan's generation stays within 100


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces; so equal settings hash equally."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def settings_hash(settings: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(settings).encode()).hexdigest()


def readable_stem(filename: str, room: int) -> str:
    """The filename without its archive suffix, in safe characters, at most ``room`` long."""
    name = filename
    for suffix in _ARCHIVE_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    stem = _UNSAFE.sub("-", name).strip("-.") or "input"
    return stem[:room].rstrip("-.") or "input"


@dataclass(frozen=True)
class ScanKey:
    tool: str
    input_sha256: str
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.tool not in TOOLS:
            raise ValueError(f"unknown tool {self.tool!r}: one of {TOOLS}")
        if not re.fullmatch(r"[0-9a-f]{64}", self.input_sha256):
            raise ValueError(f"input_sha256 must be 64 hex digits, not {self.input_sha256!r}")

    @property
    def settings_sha256(self) -> str:
        return settings_hash(self.settings)

    @property
    def value(self) -> str:
        """``<tool>:<input sha256>:<settings sha256>``: the ledger's key."""
        return f"{self.tool}:{self.input_sha256}:{self.settings_sha256}"

    @property
    def short(self) -> str:
        """``<sha256[:12]>-<settings[:8]>``: enough to tell scans apart in names and folders."""
        return f"{self.input_sha256[:12]}-{self.settings_sha256[:8]}"

    def remote_name(self, filename: str) -> str:
        """``<filename stem>-<sha256[:12]>-<settings[:8]>``: readable in the service's UI, and
        the same for the same bytes and settings (FossID scan codes and ScanCode.io names)."""
        room = MAX_REMOTE_NAME - len(self.short) - 1
        return f"{readable_stem(filename, room)}-{self.short}"


def scancodeio_settings(pipelines: Sequence[str], server_version: str | None) -> dict[str, Any]:
    """Pipelines in order, each with its groups sorted (``name:B,A`` ≡ ``name:A,B``)."""
    specs = []
    for spec in pipelines:
        name, _, groups = spec.partition(":")
        selected = sorted(g.strip() for g in groups.split(",") if g.strip())
        specs.append(name.strip() + (":" + ",".join(selected) if selected else ""))
    # "alerts": what the result holds; results collected otherwise (one alert level) are not reused
    return {"pipelines": specs, "server_version": server_version, "alerts": "all-levels"}


def fossid_settings(scan_options: Mapping[str, Any], server_version: str | None) -> dict[str, Any]:
    return {"scan_options": dict(scan_options), "server_version": server_version}


def purldb_settings(server: str) -> dict[str, Any]:
    """PurlDB matching has no options; the index it matches against is named by its server."""
    return {"pipeline": "matching", "server": server}
