"""The ``sca_hints`` Airflow plugin (entry point ``airflow.plugins``): mounts the webhook receiver
in the API server at ``/sca-hooks``. Other components load it too; building the app is cheap and
opens nothing."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from sca.hints.receiver import create_app
from sca.hints.settings import URL_PREFIX


class ScaHintsPlugin(AirflowPlugin):
    name = "sca_hints"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "SCA run-end hints"}]
