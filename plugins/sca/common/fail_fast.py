"""Errors that a retry cannot fix fail the task at once, with their message (no Airflow retries).

Operators and sensors that mix in ``FailFastOnPermanentErrors`` get their ``execute``,
``execute_complete`` and ``poke`` wrapped: a ``PermanentServiceError`` (4xx: bad request, auth,
not found) or a ``ValueError`` (bad input, invalid purl, unknown pipeline) becomes
``AirflowFailException``; transient errors, failed remote runs and deferrals pass through.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sca.common.errors import is_permanent

WRAPPED = ("execute", "execute_complete", "poke")


def fail_fast(method: Callable[..., Any]) -> Callable[..., Any]:
    if getattr(method, "_fail_fast", False):
        return method

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from airflow.sdk.exceptions import AirflowFailException

        try:
            return method(*args, **kwargs)
        except Exception as exc:
            if not is_permanent(exc):
                raise
            raise AirflowFailException(f"{exc} (not retried: retrying cannot fix this)") from exc

    wrapper._fail_fast = True  # type: ignore[attr-defined]
    return wrapper


class FailFastOnPermanentErrors:
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in WRAPPED:
            if name in cls.__dict__:
                setattr(cls, name, fail_fast(cls.__dict__[name]))
