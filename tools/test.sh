#!/usr/bin/env bash
# The whole test suite: package in sync with the notebooks, notebooks clean, notebook tests, pytest.
# Run from anywhere after `pip install -e ".[dev]"`; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

snapshot() { find kdfidelity nbs -type f \( -name '*.py' -o -name '*.ipynb' \) -not -path '*/.ipynb_checkpoints/*' \
               -print0 | sort -z | xargs -0 sha256sum; }

echo "== nbdev-export: kdfidelity/ must match the notebooks"
before=$(snapshot); nbdev-export; after=$(snapshot)
if [ "$before" != "$after" ]; then
  diff <(echo "$before") <(echo "$after") || true
  echo "FAIL: nbdev-export changed the files above; run nbdev-export and commit the result." >&2; exit 1
fi

echo "== nbdev-clean: notebooks must be clean"
before=$(snapshot); nbdev-clean; after=$(snapshot)
if [ "$before" != "$after" ]; then
  diff <(echo "$before") <(echo "$after") || true
  echo "FAIL: nbdev-clean changed the notebooks above; run nbdev-clean and commit the result." >&2; exit 1
fi

echo "== ruff: cells and scripts formatted, lines of at most 120 characters, one statement per line"
ruff format --check . || { echo "FAIL: run ruff format . (the notebooks are formatted in place) and commit" >&2; exit 1; }
ruff check .

echo "== one definition per exported notebook cell"
python tools/check_cells.py

echo "== README.md must be generated from nbs/index.ipynb"
python tools/make_readme.py --check

echo "== every measured number in the paper notebooks' prose is printed by a cell or a committed summary"
python tools/check_numbers.py

echo "== no stored output shows a path of the machine that ran it"
python tools/check_outputs.py

echo "== nbdev-test: every notebook runs (smoke scale)"
KDFIDELITY_SCALE=smoke nbdev-test --timing

echo "== pytest"
python -m pytest -q --durations=15
