#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need (Debian tools,
# a virtual environment with the package, its plugins and test dependencies), then runs
# the linters and pytest. Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${DICOMSTREAM_VENV:-$ROOT/.venv}
PY=${PYTHON:-python3}

log() { printf '\n== %s\n' "$*"; }

# 1. Independent validators used by the tests (dcmtk: dcmdump/dcmconv; dicom3tools: dciodvfy),
#    and Orthanc with its DICOMweb plugin (the DICOMweb tests start it on free loopback ports).
need_apt=()
command -v dcmdump >/dev/null 2>&1 || need_apt+=(dcmtk)
command -v dciodvfy >/dev/null 2>&1 || need_apt+=(dicom3tools)
[ -x /usr/sbin/Orthanc ] || need_apt+=(orthanc)
[ -f /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need_apt+=(orthanc-dicomweb)
if ((${#need_apt[@]})); then
  log "installing ${need_apt[*]} (Debian)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# 2. Python environment: the package (editable), every first-party plugin, test deps.
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
log "installing dicomstream[dev] and plugins"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
plugin_args=()
for p in plugins/*/; do [ -f "$p/pyproject.toml" ] && plugin_args+=(-e "$p"); done
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[dev]" "${plugin_args[@]}"
# Servers and clients of the cloud tests: moto's S3 server (moto[s3] + flask), boto3 (set-up
# and checks), aiohttp (HTTP file server), Dask distributed (LocalCluster runs).
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
  "moto[s3]" flask flask-cors boto3 aiohttp "dask[distributed]"

# 3. Static checks.
log "ruff"
"$VENV/bin/ruff" check dicomstream tests scripts benchmarks examples plugins fuzz
log "mypy (strict)"
"$VENV/bin/mypy" dicomstream plugins/deid/src plugins/checksum/src
log "generated dictionary is current"
"$VENV/bin/python" scripts/generate_dictionary.py --check

# 4. Fuzz smoke run: each atheris target (parser, round trip, collector + deid) for 60 s
#    on mutated corpus files; any crash, non-DicomStreamError or input slower than 1 s fails
#    (long runs: fuzz/README.md). DICOMSTREAM_FUZZ_SECONDS=0 skips it for a quick local run.
FUZZ_SECONDS=${DICOMSTREAM_FUZZ_SECONDS:-60}
if [ "$FUZZ_SECONDS" != 0 ]; then
  log "fuzz smoke run (${FUZZ_SECONDS} s per target)"
  "$VENV/bin/python" -m fuzz.run all --seconds "$FUZZ_SECONDS"
fi

# 5. Tests.
log "pytest"
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
