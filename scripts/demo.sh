#!/usr/bin/env bash
# The main job on a generated sample, from a fresh machine: sets up a virtual
# environment, generates a CT series, then dumps, rewrites (identity, edits, transcoding)
# and reports. Usage: scripts/demo.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${DICOMSTREAM_VENV:-$ROOT/.venv}
WORK=${1:-$(mktemp -d -t dicomstream-demo.XXXXXX)}
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
if ! "$VENV/bin/python" -c "import dicomstream, pydicom, rich" 2>/dev/null; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[cli,pydicom]"
  for p in plugins/*/; do
    [ -f "$p/pyproject.toml" ] && "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$p"
  done
fi
DS="$VENV/bin/dicomstream"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step "generate a 50-file CT series (512x512, private tags, nested sequences) in $WORK/ct"
"$VENV/bin/python" benchmarks/generate.py ct-series "$WORK/ct" --count 50

step "dicomstream dump $WORK/ct/CT000001.dcm | head -25"
"$DS" dump "$WORK/ct/CT000001.dcm" | head -25 || true

step "dicomstream rewrite $WORK/ct $WORK/identity   # no options: byte-identical"
"$DS" rewrite "$WORK/ct" "$WORK/identity" --report "$WORK/identity.jsonl"
diff -r -q "$WORK/ct" "$WORK/identity" && echo "identical: $(ls "$WORK/identity" | wc -l) files"

step "dicomstream rewrite ... --set PatientName=ANON --set PatientID=ANON --remove-private --transfer-syntax implicit"
"$DS" rewrite "$WORK/ct" "$WORK/edited" --set PatientName=ANON --set PatientID=ANON \
  --remove-private --transfer-syntax implicit --report "$WORK/edited.jsonl"
"$DS" dump "$WORK/edited/CT000001.dcm" | grep -E "Transfer Syntax|Patient's Name|Patient ID|^\(00(09|19|29)" || true
echo "report: $(wc -l < "$WORK/edited.jsonl") lines, e.g."; head -1 "$WORK/edited.jsonl"

if "$DS" plugins | grep -c "anonymize" >/dev/null; then  # -c reads it all: no broken pipe
  step "dicomstream anonymize $WORK/ct $WORK/deid"
  DICOMSTREAM_DEID_KEY=demo-key-not-a-secret-0123456789 "$DS" anonymize "$WORK/ct" "$WORK/deid" --report "$WORK/deid.jsonl"
  "$DS" dump "$WORK/deid/CT000001.dcm" | grep -E "Patient's Name|Patient ID|Study Instance UID|Patient Identity Removed" || true
fi

step "dicomstream plugins"
"$DS" plugins
printf '\nAll outputs are in %s\n' "$WORK"
