"""Run-end hints: a service's webhook wakes the trigger that waits on the run.

ScanCode.io posts to a project's webhooks once a run has ended (``scanpipe/tasks.py``
``execute_pipeline_task`` → ``Run.deliver_project_subscriptions``; success and failure only, never
stopped or stale; one POST, 10 s timeout, no retry). The scan task subscribes its project to
``<sca_webhooks base URL>/scancodeio/<project>/<signature>``; the receiver (a FastAPI app that the
``sca_hints`` Airflow plugin mounts in the API server at ``/sca-hooks``) checks the signature and
records ``(service, run uuid)`` in ``run_end_hints``; each triggerer's watcher reads that table
once a second for the runs its triggers wait on, and a trigger woken so polls the run at once.

A hint is never a result: the trigger still reads the run's status from the authenticated API,
so a forged or stale hint costs one status call. Because stopped and stale runs (and deliveries
lost on the way) send nothing, the trigger keeps polling too, sparsely
(``sca.common.polling.HINTED_SAFETY_SCHEDULE``).

``signing`` and ``settings`` are pure; ``receiver``, ``plugin`` and ``watcher`` are the glue.
"""
