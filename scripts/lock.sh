#!/usr/bin/env bash
# Regenerate requirements.lock: resolve pyproject.toml under constraints.txt in a throwaway
# venv (CPU torch from the local wheel first), freeze every distribution, hash each file.
# The hashes are for this platform (Linux x86_64, CPython 3.11), the one CI and setup use.
# Every version already in requirements.lock is held (a new dependency is added without
# moving the others); LOCK_UPGRADE=1 resolves everything afresh.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
pip="$tmp/venv/bin/python -m pip --disable-pip-version-check -q"
$pip install torch==2.13.0
held=()
if [[ "${LOCK_UPGRADE:-0}" != 1 && -f requirements.lock ]]; then
    grep -E '^[A-Za-z0-9_.-]+==' requirements.lock | sed 's/ *\\$//' > "$tmp/held.txt"
    held=(-c "$tmp/held.txt")
fi
$pip install -c constraints.txt "${held[@]}" -e '.[dev,bench]'
$pip freeze --all --exclude-editable | grep -v -E '^(pip)==' > "$tmp/frozen.txt"
$pip download --no-deps -d "$tmp/dl" -r "$tmp/frozen.txt"
"$tmp/venv/bin/python" scripts/write_lock.py "$tmp/frozen.txt" "$tmp/dl" > requirements.lock
echo "requirements.lock: $(grep -c '==' requirements.lock) pinned distributions"
