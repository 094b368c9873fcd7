"""Run purldb-toolkit's own ``purlcli validate`` command against a PurlDB at ``argv[1]``.

Runs in the purldb-toolkit venv (stack/thirdparty/requirements-purlcli.txt), never in the
project's. Two things stand between purlcli 0.1.0 and a local server, and both are bridged here
without touching its code:
- purlcli.py:21 imports ``packagedb.package_managers``, a module of the PurlDB *server* that is
  not on PyPI. Only its ``versions`` command reads it; an empty mapping stands in.
- ``validate_purls`` (purlcli.py:543-556) calls the hard-coded ``https://public.purldb.io``;
  ``requests.get`` is wrapped to send those calls to the local server instead, unchanged otherwise.
Prints purlcli's JSON output.
"""

from __future__ import annotations

import sys
import types

PUBLIC = "https://public.purldb.io"


def main(base_url: str, purls: list[str]) -> int:
    package_managers = types.ModuleType("packagedb.package_managers")
    package_managers.VERSION_API_CLASSES_BY_PACKAGE_TYPE = {}  # type: ignore[attr-defined]
    sys.modules["packagedb"] = types.ModuleType("packagedb")
    sys.modules["packagedb.package_managers"] = package_managers

    import requests

    real_get = requests.get
    seen: list[str] = []

    def local_get(url: str, *args, **kwargs):
        if not url.startswith(PUBLIC):
            raise AssertionError(f"purlcli tried to reach {url}")
        seen.append(url)
        return real_get(base_url + url[len(PUBLIC) :], *args, timeout=30, **kwargs)

    requests.get = local_get

    from purldb_toolkit import purlcli

    args = ["validate", "--output", "-"]
    for purl in purls:
        args += ["--purl", purl]
    purlcli.purlcli.main(args, standalone_mode=False)
    if len(seen) != len(purls):
        raise AssertionError(f"purlcli made {len(seen)} requests for {len(purls)} purls")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
