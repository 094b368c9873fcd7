"""Lots: the portfolio's items k at a time in each task instance.

Every task execution costs the scheduler, the executor and the api-server about one CPU-second on
these machines whatever it does (bench P1: 8.6 CPU-s an item with one task instance per item and
stage), so a 1,000-item night cannot be one task instance per item. A lot task runs one stage
(fetch, ScanCode.io, PurlDB, FossID, report) for k items:

- each item is the same code as ``sca_scan``'s unit task, run with the item's own view of the task
  instance (``ItemTaskInstance``): its scan id (from its index in the portfolio, so ids do not
  depend on k), its input (its entry in the upstream lot task's list), its own XCom pushes;
- a tool stage submits the k scans (reuse and re-attach per item through the ledger, as before),
  then defers once on ``LotTrigger``, which waits for all k in the triggerer; the resume finishes
  each item (or defers again for those whose run needs another wait);
- an item that fails never stops the others: every item ends ``success``, ``skipped``,
  ``failed`` (its error recorded in the warehouse, as before) or ``upstream_failed``. A failure
  that may be transient (not a 4xx, a bad input or a remote run that ended failed) is tried again
  within the same execution, ``ITEM_TRIES`` times in all, re-attaching through the ledger; the
  task is never retried for an item, so a retry cannot run again the items that ended. The lot's
  return value lists the outcomes in order; the task then fails (not retried) if one of its own
  items failed, so the UI shows the lot red and its log names the items. The next stages run
  ``all_done``. Task retries remain for a lost execution (a killed worker): they re-attach.
- an item waits for the slowest of its lot at each wait (a pipeline, a FossID stage), and its own
  wait deadline runs meanwhile: the deadlines are hours, the lot's waits minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException, TaskDeferred

from sca.common.errors import RunFailedError, is_permanent
from sca.tasks.unit_base import error_reason

SUCCESS, SKIPPED, FAILED, UPSTREAM_FAILED = "success", "skipped", "failed", "upstream_failed"
RETURN_KEY = "return_value"
ITEM_TRIES = 3  # an item's step, when its failure may be transient, within one execution
ITEM_RETRY_DELAY_S = 10.0  # before the second try; twice that before the third


def lot_items(value: Any) -> list[dict[str, Any]]:
    """The lot's items as the group's mapped argument renders them (a list of dicts)."""
    if isinstance(value, str):
        import json

        value = json.loads(value)
    return [dict(item) for item in value]


class ItemTaskInstance:
    """The lot task's instance as one of its items sees it: the item's portfolio index as its map
    index, its entry of an upstream lot task's return value as that task's XCom, its own pushes."""

    def __init__(
        self, ti: Any, index: int, position: int, group_id: str, cache: dict[str, list[dict[str, Any]] | None]
    ) -> None:
        self._ti = ti
        self.map_index = index
        self.position = position
        self.group_prefix = f"{group_id}."
        self.cache = cache  # upstream lot task id → its return value, pulled once per lot
        self.pushed: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ti, name)

    def entry_of(self, task_id: str) -> dict[str, Any] | None:
        if task_id not in self.cache:
            value = self._ti.xcom_pull(task_ids=task_id, map_indexes=self._ti.map_index)
            self.cache[task_id] = list(value) if isinstance(value, list) else None
        entries = self.cache[task_id]
        if entries is None or self.position >= len(entries):
            return None
        return entries[self.position]

    def xcom_pull(self, task_ids: Any = None, map_indexes: Any = None, key: str = RETURN_KEY, **kwargs: Any) -> Any:
        if isinstance(task_ids, str) and task_ids.startswith(self.group_prefix) and key == RETURN_KEY:
            entry = self.entry_of(task_ids)
            return entry.get("result") if entry and entry.get("state") == SUCCESS else None
        return self._ti.xcom_pull(task_ids=task_ids, map_indexes=map_indexes, key=key, **kwargs)

    def xcom_push(self, key: str, value: Any, **kwargs: Any) -> None:
        self.pushed[key] = value


def item_context(context: Context, item_ti: ItemTaskInstance) -> Context:
    view = dict(context)
    view["ti"] = item_ti
    view["task_instance"] = item_ti
    return view  # type: ignore[return-value]


def ended(item: dict[str, Any], state: str, **fields: Any) -> dict[str, Any]:
    return {"item_id": item.get("item_id"), "index": item.get("index"), "state": state, **fields}


def upstream_failed(
    item_ti: ItemTaskInstance, item: dict[str, Any], upstream_task_ids: Sequence[str]
) -> dict[str, Any] | None:
    """The item's ``UPSTREAM_FAILED`` entry when an upstream lot stage did not end it well."""
    for task_id in upstream_task_ids:
        entry = item_ti.entry_of(task_id)
        if entry is None or entry.get("state") not in (SUCCESS, SKIPPED):
            return ended(item, UPSTREAM_FAILED, reason=f"{task_id} did not end this item")
    return None


def run_item(
    call: Callable[[], Any], position: int, item: dict[str, Any], log: Any
) -> tuple[dict[str, Any] | None, TaskDeferred | None]:
    """Run one item's step: its ended entry, or the deferral it asked for."""
    try:
        result = call()
    except TaskDeferred as deferral:
        return None, deferral
    except AirflowSkipException as exc:
        return ended(item, SKIPPED, reason=str(exc)), None
    except Exception as exc:  # noqa: BLE001 - one item's failure never stops the others
        permanent = isinstance(exc, AirflowFailException | RunFailedError) or is_permanent(exc)
        reason = error_reason(exc.__cause__ if isinstance(exc, AirflowFailException) and exc.__cause__ else exc)
        log.error("item %s (%s) failed: %s", item.get("item_id"), position, reason)
        return ended(item, FAILED, reason=reason, transient=not permanent), None
    return ended(item, SUCCESS, result=result), None


def run_item_tries(
    first: Callable[[], Any], again: Callable[[], Any], position: int, item: dict[str, Any], log: Any
) -> tuple[dict[str, Any] | None, TaskDeferred | None]:
    """``first`` (a start or a resume), then ``again`` (a fresh start: it re-attaches through the
    ledger) while the item's failure may be transient, ``ITEM_TRIES`` tries in all."""
    call = first
    for attempt in range(1, ITEM_TRIES + 1):
        entry, deferral = run_item(call, position, item, log)
        if entry is None or entry["state"] != FAILED:
            return entry, deferral
        entry["tries"] = attempt
        if not entry.get("transient") or attempt == ITEM_TRIES:
            return entry, None
        delay = ITEM_RETRY_DELAY_S * attempt
        log.warning(
            "item %s: trying again in %.0f s (try %d of %d)", item.get("item_id"), delay, attempt + 1, ITEM_TRIES
        )
        time.sleep(delay)
        call = again
    raise AssertionError("unreachable")


def conclude_lot(context: Context, entries: list[dict[str, Any]], log: Any) -> list[dict[str, Any]]:
    """Push the lot's return value, then fail the task if one of its own items failed."""
    context["ti"].xcom_push(key=RETURN_KEY, value=entries)
    failed = [e for e in entries if e["state"] == FAILED]
    counts = {state: sum(1 for e in entries if e["state"] == state) for state in (SUCCESS, SKIPPED, FAILED)}
    counts[UPSTREAM_FAILED] = sum(1 for e in entries if e["state"] == UPSTREAM_FAILED)
    log.info("lot of %d items: %s", len(entries), counts)
    if failed:
        named = "; ".join(f"{e['item_id']}: {e.get('reason')}" for e in failed[:10])
        more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        raise AirflowFailException(
            f"{len(failed)} of {len(entries)} items failed: {named}{more} (not retried: each failure that "
            f"may be transient was tried {ITEM_TRIES} times; a retry would run the lot's other items again)"
        )
    return entries


def run_lot(
    context: Context,
    group_id: str,
    items: Any,
    upstream_task_ids: Sequence[str],
    step: Callable[[Context, dict[str, Any]], Any],
    log: Any,
) -> list[dict[str, Any]]:
    """A stage without waits (fetch, report): ``step(item_context, item)`` for each item."""
    cache: dict[str, list[dict[str, Any]] | None] = {}
    entries = []
    for position, item in enumerate(lot_items(items)):
        item_ti = ItemTaskInstance(context["ti"], int(item["index"]), position, group_id, cache)
        blocked = upstream_failed(item_ti, item, upstream_task_ids)
        if blocked:
            entries.append(blocked)
            continue
        call = partial(step, item_context(context, item_ti), item)
        entry, deferral = run_item_tries(call, call, position, item, log)
        if deferral is not None:
            raise RuntimeError("a stage without waits deferred")  # fetch and report never defer
        assert entry is not None
        entries.append(entry)
    return conclude_lot(context, entries, log)


class LotToolOperator(BaseOperator):
    """One tool stage (``item_operator_class``: ScanCode.io, PurlDB or FossID) for every item of a lot.

    ``common``: the tool task's arguments shared by every item (templated, rendered once);
    ``item_fields``: the tool task's argument → the item's key for it (``{"pipelines": "pipelines"}``);
    ``item_upstream``: the lot's stages that must have ended an item well for this one to run it.
    """

    template_fields: Sequence[str] = ("items", "common")

    def __init__(
        self,
        *,
        item_operator_class: type[Any],
        group_id: str,
        items: Any,
        common: dict[str, Any],
        item_fields: dict[str, str],
        item_upstream: Sequence[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.item_operator_class = item_operator_class
        self.group_id = group_id
        self.items = items
        self.common = common
        self.item_fields = item_fields
        self.item_upstream = list(item_upstream)
        self._operators: list[Any] = []  # every item operator of this execution (on_kill)

    def item_operator(self, item: dict[str, Any]) -> Any:
        arguments: dict[str, Any] = {name: item.get(key) for name, key in self.item_fields.items()}
        # the lot defers once for all its items: no item waits inside the worker first
        return self.item_operator_class(
            task_id=self.task_id, sync_grace_seconds=0, **self.common, **arguments, item_label=item.get("item_id")
        )

    def execute(self, context: Context) -> list[dict[str, Any]]:
        cache: dict[str, list[dict[str, Any]] | None] = {}
        entries: dict[str, dict[str, Any]] = {}
        waits: dict[str, dict[str, Any]] = {}
        items = lot_items(self.items)
        for position, item in enumerate(items):
            item_ti = ItemTaskInstance(context["ti"], int(item["index"]), position, self.group_id, cache)
            blocked = upstream_failed(item_ti, item, self.item_upstream)
            if blocked:
                entries[str(position)] = blocked
                continue
            self._step(context, item_ti, position, item, entries, waits, None)
        return self._next(context, items, entries, waits)

    def _item_call(self, context: Context, item_ti: ItemTaskInstance, item: dict[str, Any], wait: Any) -> Any:
        """A call that builds the item's operator and starts it (``wait`` None) or resumes it with
        ``wait`` = (method name, keyword arguments); the operator is kept for ``on_kill``."""

        def call() -> Any:
            operator = self.item_operator(item)
            self._operators.append(operator)
            if wait is None:
                return operator.start(item_context(context, item_ti))
            method, kwargs = wait
            return getattr(operator, method)(item_context(context, item_ti), **kwargs)

        return call

    def _step(
        self,
        context: Context,
        item_ti: ItemTaskInstance,
        position: int,
        item: dict[str, Any],
        entries: dict[str, dict[str, Any]],
        waits: dict[str, dict[str, Any]],
        resume: tuple[str, dict[str, Any]] | None,
    ) -> None:
        first = self._item_call(context, item_ti, item, resume)
        again = self._item_call(context, item_ti, item, None)  # a fresh start re-attaches through the ledger
        entry, deferral = run_item_tries(first, again, position, item, self.log)
        if deferral is not None:
            classpath, trigger_kwargs = deferral.trigger.serialize()
            timeout = deferral.timeout
            seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
            waits[str(position)] = {
                "trigger": [classpath, trigger_kwargs],
                "method": deferral.method_name,
                "kwargs": deferral.kwargs or {},
                "timeout": seconds,
                "pushed": item_ti.pushed,
            }
            return
        assert entry is not None
        if item_ti.pushed:
            entry["links"] = {key: value for key, value in item_ti.pushed.items() if isinstance(value, str)}
        entries[str(position)] = entry

    def _next(
        self,
        context: Context,
        items: list[dict[str, Any]],
        entries: dict[str, dict[str, Any]],
        waits: dict[str, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        if waits:
            from sca.common.lot_trigger import LotTrigger

            timeouts = [w["timeout"] for w in waits.values() if w["timeout"] is not None]
            self.log.info("%d of %d items wait for their service: deferring once for all", len(waits), len(items))
            self.defer(
                trigger=LotTrigger({position: wait["trigger"] for position, wait in waits.items()}),
                method_name="execute_lot_complete",
                kwargs={"entries": entries, "waits": waits},
                timeout=timedelta(seconds=max(timeouts)) if len(timeouts) == len(waits) else None,
            )
        ordered = [entries[str(position)] for position in range(len(items))]
        return conclude_lot(context, ordered, self.log)

    def execute_lot_complete(
        self,
        context: Context,
        event: dict[str, Any],
        entries: dict[str, dict[str, Any]],
        waits: dict[str, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        cache: dict[str, list[dict[str, Any]] | None] = {}
        items = lot_items(self.items)
        events = event.get("events") or {}
        again: dict[str, dict[str, Any]] = {}
        for position_text, wait in waits.items():
            position = int(position_text)
            item = items[position]
            item_ti = ItemTaskInstance(context["ti"], int(item["index"]), position, self.group_id, cache)
            item_ti.pushed.update(wait.get("pushed") or {})
            item_event = events.get(position_text) or {"status": "error", "message": "no event for this item"}
            resume = (str(wait["method"]), {"event": item_event, **wait["kwargs"]})
            self._step(context, item_ti, position, item, entries, again, resume)
        return self._next(context, items, entries, again)

    def on_kill(self) -> None:
        """The task is killed while it runs (not deferred: then LotTrigger.on_kill acts): every item
        operator of this execution stops the remote work it knows of (a run it started or awaits)."""
        for operator in self._operators:
            try:
                operator.on_kill()
            except Exception:  # noqa: BLE001 - stop the others' work all the same
                self.log.exception("on_kill of item %s failed", getattr(operator, "item_label", "?"))
