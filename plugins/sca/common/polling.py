"""Poll intervals that back off for long runs: quick at first, then every ``max_interval``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PollSchedule:
    initial_interval: float = 5.0
    max_interval: float = 60.0
    factor: float = 1.5

    def interval(self, poll_number: int) -> float:
        """Seconds to sleep after poll ``poll_number`` (0-based)."""
        return min(self.max_interval, self.initial_interval * (self.factor**poll_number))
