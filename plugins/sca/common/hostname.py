"""The host name Airflow records on a task instance (``[core] hostname_callable``).

Celery workers on one machine share its host name, so the task instances they ran could not be
told apart. A worker started with ``SCA_WORKER_NAME`` (the local stack's Celery workers are) reports
``<fqdn>/<worker name>``; any other process reports the machine's name, as Airflow does by default.
"""

from __future__ import annotations

import os
import socket

WORKER_NAME_ENV = "SCA_WORKER_NAME"


def worker_hostname() -> str:
    machine = socket.getfqdn()
    worker = os.environ.get(WORKER_NAME_ENV, "").strip()
    return f"{machine}/{worker}" if worker else machine
