"""The triggerer's side of run-end hints: one watcher per event loop reads ``run_end_hints`` once
a second for every run a trigger waits on (one small query, however many triggers), and wakes
the waits whose run has a hint. Async I/O only (psycopg's AsyncConnection).

When the database cannot be reached the watcher logs it once, retries with backoff, and the waits
simply last their full timeout: a trigger polls on its safety schedule either way.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from sca.store.db import RESULTS_CONN_ID, dsn_from_connection, env_dsn

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0
MAX_BACKOFF = 30.0
QUERY_TIMEOUT = 10.0  # a half-open connection must not stall the watcher for good
SELECT_SQL = "SELECT service, run_uuid FROM run_end_hints WHERE service = ANY(%s) AND run_uuid = ANY(%s)"

HintKey = tuple[str, str]  # (service, run uuid)
Connector = Callable[[], Awaitable[Any]]


async def connect_results_db() -> Any:
    """An autocommit AsyncConnection to the ``sca`` database (env DSN, else the Airflow connection)."""
    import psycopg

    dsn = env_dsn()
    if dsn is None:
        from airflow.sdk import BaseHook

        dsn = dsn_from_connection(await BaseHook.aget_connection(RESULTS_CONN_ID))
    return await psycopg.AsyncConnection.connect(dsn, autocommit=True, connect_timeout=10)


class HintWatcher:
    def __init__(self, connect: Connector = connect_results_db, tick: float = TICK_SECONDS) -> None:
        self._connect = connect
        self._tick = tick
        self._events: dict[HintKey, asyncio.Event] = {}
        self._waiters: dict[HintKey, int] = {}
        self._task: asyncio.Task[None] | None = None
        self.queries = 0  # for tests and the benchmark

    async def wait(self, service: str, run_uuid: str, timeout: float) -> bool:
        """True as soon as a hint for the run is seen (at once if there is one already); False
        after ``timeout`` seconds without one."""
        key = (service, run_uuid)
        event = self._events.setdefault(key, asyncio.Event())
        self._waiters[key] = self._waiters.get(key, 0) + 1
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch(), name="sca-hint-watcher")
        try:
            await asyncio.wait_for(event.wait(), timeout=max(0.0, timeout))
            return True
        except TimeoutError:
            return False
        finally:
            self._waiters[key] -= 1
            if not self._waiters[key]:
                del self._waiters[key]
                self._events.pop(key, None)

    async def _watch(self) -> None:
        conn: Any = None
        failures = 0
        try:
            while self._waiters:
                try:
                    if conn is None:
                        conn = await self._connect()
                    found = await asyncio.wait_for(self._read(conn), QUERY_TIMEOUT)
                    failures = 0
                except Exception as exc:  # the database is away: waits fall back to their timeouts
                    failures += 1
                    if failures == 1:
                        log.warning("run-end hints unavailable (%s: %s); polling only", type(exc).__name__, exc)
                    if conn is not None:
                        await _close(conn)
                        conn = None
                    await asyncio.sleep(min(MAX_BACKOFF, self._tick * 2**failures))
                    continue
                for key in found:
                    if key in self._events:
                        self._events[key].set()
                await asyncio.sleep(self._tick)
        finally:
            self._task = None  # before any await: a wait arriving from here on starts a new watch
            if conn is not None:
                await _close(conn)

    async def _read(self, conn: Any) -> set[HintKey]:
        waiting = [k for k, e in self._events.items() if not e.is_set()]
        if not waiting:
            return set()
        services = sorted({s for s, _ in waiting})
        runs = sorted({r for _, r in waiting})
        self.queries += 1
        async with conn.cursor() as cur:
            await cur.execute(SELECT_SQL, (services, runs))
            rows = await cur.fetchall()
        return {(str(s), str(r)) for s, r in rows} & set(waiting)


async def _close(conn: Any) -> None:
    try:
        await conn.close()
    except Exception:  # closing a broken connection: nothing left to save
        pass


_WATCHERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, HintWatcher] = weakref.WeakKeyDictionary()


def watcher() -> HintWatcher:
    """The running loop's watcher (the triggerer runs every trigger on one loop)."""
    loop = asyncio.get_running_loop()
    found = _WATCHERS.get(loop)
    if found is None:
        found = _WATCHERS[loop] = HintWatcher()
    return found


async def wait_for_hint(service: str, run_uuid: str, timeout: float) -> bool:
    return await watcher().wait(service, run_uuid, timeout)
