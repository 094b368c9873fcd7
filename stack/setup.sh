#!/usr/bin/env bash
# Installs what the stack needs; idempotent and cached. Safe to run on every `make`.
#  - redis-server, chromium (Debian packages) when missing
#  - the project venv (Airflow + scancode-toolkit ...) from requirements.txt, constrained to the
#    tested versions of every package in requirements.lock
#  - the ScanCode.io 38.2.0 venv from stack/scio/requirements-scio.txt (+ requirements-scio.lock)
#  - a small venv with purldb-toolkit (stack/thirdparty/requirements-purlcli.txt), for one test
# Venvs live under $CACHE_DIR keyed by the hash of their requirement file, so a second run
# (or a second CI run on the same machine) reuses them.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_system_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v initdb >/dev/null || [ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
  command -v curl >/dev/null || missing+=(curl)
  command -v chromium >/dev/null || missing+=(chromium)  # the html report's browser test
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "missing system packages: ${missing[*]} (install them with apt-get as root)"
  log "installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

make_venv() {  # dir python
  local dir=$1 py=$2
  rm -rf "$dir.partial"
  "$py" -m venv "$dir.partial"
  "$dir.partial/bin/pip" install -q --disable-pip-version-check -U pip 2>&1 | grep -v "is ignored" || true
}

finish_venv() {  # dir: atomically publish a complete venv
  local dir=$1
  # venv scripts carry absolute shebangs, so build in place names: rewrite them to the final path.
  grep -rlI --null "$dir.partial" "$dir.partial/bin" | xargs -0 -r sed -i "s#$dir.partial#$dir#g"
  rm -rf "$dir"; mv "$dir.partial" "$dir"
}

pip_quiet() {  # venv args...: pip without the noise about the image's absent local indexes, and
  # without its resolver note on scancodeio's certifi pin, which is expected (see requirements-scio.txt)
  local venv=$1; shift
  "$venv/bin/pip" install -q --disable-pip-version-check "$@" 2>&1 \
    | { grep -v -e "is ignored: it is neither" -e "dependency resolver does not currently take" \
               -e "scancodeio 38.2.0 requires certifi==2026.10.19" || true; }
  return "${PIPESTATUS[0]}"
}

ensure_airflow_venv() {
  [ -f "$AIRFLOW_VENV/.complete" ] && return 0
  local py; py=$(find_python312)
  log "creating the project venv at $AIRFLOW_VENV (about 1 minute)"
  make_venv "$AIRFLOW_VENV" "$py"
  pip_quiet "$AIRFLOW_VENV.partial" -r "$ROOT/requirements.txt" -c "$ROOT/requirements.lock"
  finish_venv "$AIRFLOW_VENV"
  "$AIRFLOW_VENV/bin/scancode" --version >/dev/null || die "scancode --version fails in $AIRFLOW_VENV (pluggy pin?)"
  touch "$AIRFLOW_VENV/.complete"
}

ensure_scio_venv() {
  [ -f "$SCIO_VENV/.complete" ] && return 0
  local py; py=$(find_python312)
  log "creating the ScanCode.io venv at $SCIO_VENV (about 1 minute)"
  make_venv "$SCIO_VENV" "$py"
  pip_quiet "$SCIO_VENV.partial" --no-deps scancodeio==38.2.0
  pip_quiet "$SCIO_VENV.partial" -r "$ROOT/stack/scio/requirements-scio.txt" -c "$ROOT/stack/scio/requirements-scio.lock"
  log "installed certifi 2026.10.18 in place of scancodeio's unserved 2026.10.19 pin (expected)"
  finish_venv "$SCIO_VENV"
  "$SCIO_VENV/bin/scanpipe" --version >/dev/null || die "scanpipe --version fails in $SCIO_VENV"
  touch "$SCIO_VENV/.complete"
}

ensure_purlcli_venv() {
  [ -f "$PURLCLI_VENV/.complete" ] && return 0
  local py; py=$(find_python312)
  log "creating the purldb-toolkit venv at $PURLCLI_VENV (a few seconds; tests only)"
  make_venv "$PURLCLI_VENV" "$py"
  pip_quiet "$PURLCLI_VENV.partial" --no-deps -r "$ROOT/stack/thirdparty/requirements-purlcli.txt"
  finish_venv "$PURLCLI_VENV"
  "$PURLCLI_VENV/bin/python" -c "import fetchcode, click, packageurl" || die "purldb-toolkit's dependencies do not import in $PURLCLI_VENV"
  touch "$PURLCLI_VENV/.complete"
}

# The demo portfolio's real packages (include/demo-packages.txt), fetched once from PyPI and npm
# into the cache and checked against their pinned sha256; runs and tests never download them.
ensure_demo_packages() {
  local dest="$CACHE_DIR/demo-packages" registry spec file sha tmp got
  mkdir -p "$dest"
  while read -r registry spec file sha; do
    case "$registry" in ''|'#'*) continue ;; esac
    if [ -f "$dest/$file" ] && [ "$(sha256sum "$dest/$file" | cut -d' ' -f1)" = "$sha" ]; then continue; fi
    tmp=$(mktemp -d)
    case "$registry" in
      pypi-wheel) "$AIRFLOW_VENV/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
                    --python-version 3.12 --platform any -d "$tmp" "$spec" 2>/dev/null ;;
      pypi-sdist) "$AIRFLOW_VENV/bin/pip" download -q --disable-pip-version-check --no-deps --no-binary=:all: \
                    -d "$tmp" "$spec" 2>/dev/null ;;
      npm) (cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>&1) ;;
      *) die "include/demo-packages.txt: unknown registry $registry" ;;
    esac || { rm -rf "$tmp"; die "could not download $spec ($registry) for the demo portfolio"; }
    [ -f "$tmp/$file" ] || { ls "$tmp" >&2; rm -rf "$tmp"; die "downloading $spec gave no $file"; }
    got=$(sha256sum "$tmp/$file" | cut -d' ' -f1)
    [ "$got" = "$sha" ] || { rm -rf "$tmp"; die "$file has sha256 $got, expected $sha (include/demo-packages.txt)"; }
    mv "$tmp/$file" "$dest/$file"; rm -rf "$tmp"
    log "downloaded $file"
  done <"$ROOT/include/demo-packages.txt"
}

mkdir -p "$CACHE_DIR" "$RUN_DIR"
ensure_system_packages
ensure_airflow_venv
ensure_scio_venv
ensure_purlcli_venv
ensure_demo_packages
ln -sfn "$AIRFLOW_VENV" "$ROOT/.venv"
log "setup complete: project venv $AIRFLOW_VENV, ScanCode.io venv $SCIO_VENV"
