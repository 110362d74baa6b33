"""The notebooks' rhythm, checked: at most one top-level definition (function or class) per exported cell.

    python tools/check_cells.py [NOTEBOOK ...]     # default: every notebook under nbs/

One definition per `#| export` cell is the rhythm of fastcore's and nbdev's notebooks (DESIGN.md): each definition
stands in its own cell, so its example and its test can follow it. Methods worth a page of their own move into cells of
their own with fastcore's `@patch`. Exits 1 and names each cell that holds more than one definition.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPORT_FLAGS = ("#| export", "#|export", "#| exports", "#|exports")


def definitions(source: str) -> list[str]:
    "The names of the top-level functions and classes of a cell (IPython magics and shell lines left out)."
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    tree = ast.parse(code)
    return [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def crowded_cells(notebook: Path) -> list[tuple[int, list[str]]]:
    "(cell index, names) of every exported cell of `notebook` that defines more than one function or class."
    cells = json.loads(notebook.read_text())["cells"]
    found = []
    for index, cell in enumerate(cells):
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and source.lstrip().startswith(EXPORT_FLAGS):
            names = definitions(source)
            if len(names) > 1:
                found.append((index, names))
    return found


def main(argv: list[str]) -> int:
    notebooks = [Path(a) for a in argv] or sorted((ROOT / "nbs").rglob("*.ipynb"))
    failures = [(nb, index, names) for nb in notebooks for index, names in crowded_cells(nb)]
    for nb, index, names in failures:
        print(f"{nb}: exported cell {index} defines {len(names)} things ({', '.join(names)}); give each its own cell")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
