"""Registers the project's operator extra links with Airflow (plugins/ is on every component's path)."""

from airflow.plugins_manager import AirflowPlugin

from sca.scancodeio.links import ScanCodeIOProjectLink


class ScaPlugin(AirflowPlugin):
    name = "sca"
    operator_extra_links = [ScanCodeIOProjectLink()]
