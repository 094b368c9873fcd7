"""``deferrable`` defaults to Airflow's ``[operators] default_deferrable`` (False unless set), as the
official providers' operators do; the stack's airflow.cfg sets it True. Read once, at import."""

from __future__ import annotations

from airflow.sdk import conf

DEFAULT_DEFERRABLE: bool = conf.getboolean("operators", "default_deferrable", fallback=False)
