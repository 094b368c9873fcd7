"""The provider info Airflow reads through the ``apache_airflow_provider`` entry point (pyproject.toml).

Airflow 3.3's UI builds the connection forms from ``conn-fields`` and ``ui-field-behaviour``
here, never from the hooks (it does not import them). A schema error or a ``package-name`` that
is not the installed distribution's breaks ``airflow providers list`` for every provider, so
tests/unit/test_provider_info.py validates this against Airflow's own schemas. No Airflow import.
"""

from __future__ import annotations

from typing import Any

PACKAGE_NAME = "sca-orchestrator"
VERSION = "0.1.0"

TIMEOUT_FIELD = {
    "label": "Request timeout (seconds)",
    "description": "How long one request may take before it is retried (the waits poll, so keep it short).",
    "schema": {"type": ["number", "null"], "minimum": 1, "maximum": 3600},
}


def connection_types() -> list[dict[str, Any]]:
    return [
        {
            "connection-type": "scancodeio",
            "hook-class-name": "sca.scancodeio.hook.ScanCodeIOHook",
            "hook-name": "ScanCode.io",
            "ui-field-behaviour": {
                "hidden-fields": ["login", "extra"],
                "relabeling": {
                    "host": "ScanCode.io host or URL",
                    "schema": "Scheme (http or https)",
                    "password": "API key",
                },
                "placeholders": {
                    "host": "https://scancodeio.example.org",
                    "schema": "https",
                    "port": "443",
                    "password": "the API key of a ScanCode.io user (Profile page)",
                },
            },
            "conn-fields": {
                "timeout": TIMEOUT_FIELD,
                "ui_url": {
                    "label": "Web UI URL",
                    "description": "Where people open project pages, when it differs from the API host "
                    "(a proxy in front of the API).",
                    "schema": {"type": ["string", "null"], "format": "url"},
                },
            },
        },
        {
            "connection-type": "purldb",
            "hook-class-name": "sca.purldb.hook.PurlDBHook",
            "hook-name": "PurlDB",
            "ui-field-behaviour": {
                "hidden-fields": ["login", "extra"],
                "relabeling": {
                    "host": "PurlDB host or URL",
                    "schema": "Scheme (http or https)",
                    "password": "API key (optional)",
                },
                "placeholders": {
                    "host": "https://public.purldb.io",
                    "schema": "https",
                    "port": "443",
                    "password": "a token raises the throttle from 3,600 to 10,800 requests an hour",
                },
            },
            "conn-fields": {"timeout": TIMEOUT_FIELD},
        },
        {
            "connection-type": "fossid",
            "hook-class-name": "sca.fossid.hook.FossIDHook",
            "hook-name": "FossID Workbench",
            "ui-field-behaviour": {
                "hidden-fields": ["extra"],
                "relabeling": {
                    "host": "Workbench host or URL",
                    "schema": "Scheme (http or https)",
                    "login": "Workbench user",
                    "password": "API key",
                },
                "placeholders": {
                    "host": "https://workbench.example.org",
                    "schema": "https",
                    "port": "443",
                    "login": "the Workbench user the scans run as",
                    "password": "that user's API key (My Profile > API key)",
                },
            },
            "conn-fields": {"timeout": TIMEOUT_FIELD},
        },
    ]


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": PACKAGE_NAME,
        "name": "SCA orchestrator",
        "description": "Deferrable operators, sensors and triggers for ScanCode.io, PurlDB and FossID Workbench, "
        "and the DAGs that scan one package or a whole portfolio with them.",
        "versions": [VERSION],
        "integrations": [
            {"integration-name": "ScanCode.io", "external-doc-url": "https://scancodeio.readthedocs.io/"},
            {"integration-name": "PurlDB", "external-doc-url": "https://aboutcode.readthedocs.io/projects/PURLdb/"},
            {"integration-name": "FossID Workbench", "external-doc-url": "https://fossid.com/"},
        ],
        "hooks": [
            {"integration-name": "ScanCode.io", "python-modules": ["sca.scancodeio.hook"]},
            {"integration-name": "PurlDB", "python-modules": ["sca.purldb.hook"]},
            {"integration-name": "FossID Workbench", "python-modules": ["sca.fossid.hook"]},
        ],
        "operators": [
            {"integration-name": "ScanCode.io", "python-modules": ["sca.scancodeio.operators"]},
            {"integration-name": "PurlDB", "python-modules": ["sca.purldb.operators"]},
            {"integration-name": "FossID Workbench", "python-modules": ["sca.fossid.operators"]},
        ],
        "sensors": [
            {"integration-name": "ScanCode.io", "python-modules": ["sca.scancodeio.sensors"]},
            {"integration-name": "PurlDB", "python-modules": ["sca.purldb.sensors"]},
            {"integration-name": "FossID Workbench", "python-modules": ["sca.fossid.sensors"]},
        ],
        "triggers": [
            {"integration-name": "ScanCode.io", "python-modules": ["sca.scancodeio.triggers"]},
            {"integration-name": "PurlDB", "python-modules": ["sca.purldb.triggers"]},
            {"integration-name": "FossID Workbench", "python-modules": ["sca.fossid.triggers"]},
        ],
        "connection-types": connection_types(),
        "extra-links": [
            "sca.scancodeio.links.ScanCodeIOProjectLink",
            "sca.fossid.links.FossIDScanLink",
            "sca.purldb.links.PurlDBPackageLink",
        ],
    }
