"""Which remote scans retention removes: pure planning, no I/O.

A finished scan whose results are in the warehouse (and its files in the artefact store) no
longer needs its remote object. Retention removes it when it finished more than ``keep_days``
ago, or when its package has ``keep_last`` newer scans on the same service. Either setting may
be None (no limit of that kind); with both None nothing is removed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


def package_name(filename: str) -> str:
    """A file name without its version and suffixes: ``six-1.16.0-py2.py3-none-any.whl`` and
    ``six-1.17.0.tar.gz`` → ``six``; ``acme-widget-1.0.tar.gz`` → ``acme-widget``."""
    name = re.split(r"[-_](?=v?\d)", filename, maxsplit=1)[0]
    return name or filename


@dataclass(frozen=True)
class RetentionCandidate:
    service: str
    scan_key: str
    remote_id: str | None
    remote_name: str | None
    package: str
    finished_at: datetime


@dataclass(frozen=True)
class Removal:
    candidate: RetentionCandidate
    reason: str

    def line(self) -> str:
        c = self.candidate
        when = f"{c.finished_at:%Y-%m-%d %H:%M}"
        return f"{c.service} {c.remote_name or c.remote_id} ({c.package}, finished {when}): {self.reason}"


def plan_removals(
    candidates: Iterable[RetentionCandidate],
    *,
    keep_days: float | None,
    keep_last: int | None,
    now: datetime,
) -> list[Removal]:
    if keep_last is not None and keep_last < 0:
        raise ValueError(f"keep_last must be 0 or more, not {keep_last}")
    if keep_days is not None and keep_days < 0:
        raise ValueError(f"keep_days must be 0 or more, not {keep_days}")
    by_package: dict[tuple[str, str], list[RetentionCandidate]] = defaultdict(list)
    for candidate in candidates:
        by_package[(candidate.service, candidate.package)].append(candidate)
    removals = []
    for group in by_package.values():
        group.sort(key=lambda c: c.finished_at, reverse=True)
        for rank, candidate in enumerate(group):
            reasons = []
            if keep_days is not None and now - candidate.finished_at > timedelta(days=keep_days):
                reasons.append(f"older than {keep_days:g} day(s)")
            if keep_last is not None and rank >= keep_last:
                reasons.append(f"{rank} newer scan(s) of this package kept (keep_last {keep_last})")
            if reasons:
                removals.append(Removal(candidate, "; ".join(reasons)))
    return sorted(removals, key=lambda r: (r.candidate.service, r.candidate.package, r.candidate.finished_at))
