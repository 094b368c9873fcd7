"""Retention planning: by age, by the newest K per package and service, or both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sca.core.retention import RetentionCandidate, plan_removals

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def scan(service: str, package: str, days_ago: float) -> RetentionCandidate:
    return RetentionCandidate(
        service,
        f"{service}:{package}:{days_ago}",
        "id",
        f"{package}-{days_ago}",
        package,
        NOW - timedelta(days=days_ago),
    )


CANDIDATES = [
    scan("scancodeio", "six.whl", 1),
    scan("scancodeio", "six.whl", 5),
    scan("scancodeio", "six.whl", 40),
    scan("fossid", "six.whl", 40),
    scan("scancodeio", "acme.tar.gz", 2),
]


def names(removals) -> list[str]:
    return [f"{r.candidate.service}/{r.candidate.remote_name}" for r in removals]


def test_by_age_by_count_and_both() -> None:
    assert names(plan_removals(CANDIDATES, keep_days=30, keep_last=None, now=NOW)) == [
        "fossid/six.whl-40",
        "scancodeio/six.whl-40",
    ]
    assert names(plan_removals(CANDIDATES, keep_days=None, keep_last=1, now=NOW)) == [
        "scancodeio/six.whl-40",
        "scancodeio/six.whl-5",
    ]
    both = plan_removals(CANDIDATES, keep_days=3, keep_last=2, now=NOW)
    assert names(both) == ["fossid/six.whl-40", "scancodeio/six.whl-40", "scancodeio/six.whl-5"]
    assert both[1].reason == "older than 3 day(s); 2 newer scan(s) of this package kept (keep_last 2)"
    assert plan_removals(CANDIDATES, keep_days=None, keep_last=None, now=NOW) == []


def test_negative_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="keep_last"):
        plan_removals(CANDIDATES, keep_days=None, keep_last=-1, now=NOW)


def test_package_names_drop_versions_and_suffixes() -> None:
    from sca.core.retention import package_name

    assert [
        package_name(n)
        for n in ("six-1.16.0-py2.py3-none-any.whl", "six-1.17.0.tar.gz", "acme-widget-1.0.tar.gz", "left_pad_v2.tgz")
    ] == ["six", "six", "acme-widget", "left_pad"]
