"""Check that no stored output of a notebook shows a path of the machine that ran it.

    python tools/check_outputs.py [NOTEBOOK ...]     # default: every notebook under nbs/

Stored outputs are read by everyone who opens a notebook or its docs page; a temporary directory, a home folder or a
results directory of the machine that ran it says nothing to them and tells them about that machine. Print paths
relative to the repository, the settings (`results_dir of settings.ini`) or a placeholder instead. Exits 1 and names
each cell whose outputs hold such a path.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MACHINE_PATH = re.compile(r"(?<![\w.])(?:/(?:tmp|home|root|work|Users|private|var/folders|mnt|scratch)/|[A-Z]:\\)")


def output_text(cell: dict) -> str:
    "Everything a code cell's stored outputs show as text (images aside)."
    parts = []
    for output in cell.get("outputs", []):
        parts.append("".join(output.get("text", "")))
        parts += ["".join(v) for k, v in output.get("data", {}).items() if not k.startswith("image/")]
        parts += output.get("traceback", [])
    return "\n".join(parts)


def machine_paths(notebook: Path) -> list[tuple[int, str]]:
    "(cell index, the line) for each stored output line of `notebook` that shows a machine path."
    cells = json.loads(notebook.read_text())["cells"]
    return [
        (i, line.strip())
        for i, cell in enumerate(cells)
        if cell["cell_type"] == "code"
        for line in output_text(cell).splitlines()
        if MACHINE_PATH.search(line)
    ]


def main(argv: list[str]) -> int:
    notebooks = [Path(a) for a in argv] or sorted((ROOT / "nbs").rglob("*.ipynb"))
    bad = [(nb, i, line) for nb in notebooks if ".ipynb_checkpoints" not in nb.parts for i, line in machine_paths(nb)]
    for nb, i, line in bad:
        print(
            f"{nb.relative_to(ROOT) if nb.is_relative_to(ROOT) else nb} cell {i}: a path of this machine: {line[:160]}"
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
