#!/usr/bin/env bash
# Build the documentation site offline into _docs/ (see tools/docs.py): nbdev's processed notebooks (nbdev-proc-nbs,
# cached in _proc/) rendered to static HTML by nbconvert. Needs only `pip install -e ".[dev]"`; no Quarto, no network.
# Options: --out DIR, --workers N, --force. Browse: python -m http.server -d _docs  (or open _docs/index.html).
# With Quarto installed (nbdev-install-quarto), nbdev's own site comes from `nbdev-docs` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python tools/docs.py "$@"
