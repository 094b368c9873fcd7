"""Scan keys: the same bytes and settings give the same key and remote name, however given."""

from __future__ import annotations

import hashlib

import pytest

from sca.core.keys import ScanKey, fossid_settings, readable_stem, scancodeio_settings

SHA = hashlib.sha256(b"six").hexdigest()


def test_same_bytes_and_settings_give_one_key_and_one_readable_name() -> None:
    a = ScanKey("scancodeio", SHA, scancodeio_settings(["scan_codebase:StaticResolver,Go"], None))
    b = ScanKey("scancodeio", SHA, scancodeio_settings(["scan_codebase:Go,StaticResolver"], None))
    assert a.value == b.value == f"scancodeio:{SHA}:{a.settings_sha256}"
    assert a.remote_name("six-1.16.0.tar.gz") == f"six-1.16.0-{SHA[:12]}-{a.settings_sha256[:8]}"
    assert a.remote_name("six-1.16.0-py2.py3-none-any.whl") == f"six-1.16.0-py2.py3-none-any-{a.short}"


def test_another_pipeline_tool_or_server_version_is_another_key() -> None:
    base = ScanKey("scancodeio", SHA, scancodeio_settings(["scan_single_package"], None))
    other_pipeline = ScanKey("scancodeio", SHA, scancodeio_settings(["scan_codebase"], None))
    other_order = ScanKey("scancodeio", SHA, scancodeio_settings(["scan_codebase", "find_vulnerabilities"], None))
    reversed_order = ScanKey("scancodeio", SHA, scancodeio_settings(["find_vulnerabilities", "scan_codebase"], None))
    fossid_a = ScanKey("fossid", SHA, fossid_settings({"sensitivity": 10}, "25.1.0"))
    fossid_b = ScanKey("fossid", SHA, fossid_settings({"sensitivity": 10}, "25.2.0"))
    keys = {k.value for k in (base, other_pipeline, other_order, reversed_order, fossid_a, fossid_b)}
    assert len(keys) == 6


def test_names_stay_short_and_safe() -> None:
    key = ScanKey("fossid", SHA, {})
    name = key.remote_name("a b/../" + "x" * 300 + ".zip")
    assert len(name) == 96 and name.endswith(key.short) and "/" not in name and " " not in name
    assert readable_stem("...", 10) == "input"


def test_bad_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown tool"):
        ScanKey("blackduck", SHA, {})
    with pytest.raises(ValueError, match="64 hex digits"):
        ScanKey("fossid", "abc", {})
