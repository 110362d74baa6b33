"""Check that every measured number in the paper notebooks' prose is printed somewhere it can be traced to.

The honesty rule of the paper notebooks: a number in the prose is printed by a cell of that notebook or read from a
committed results summary. This script holds each markdown cell of `nbs/paper/*.ipynb` to it, for the numbers that
look measured: decimals (`93.8`, `0.109`) and integers written with thousands separators (`1,198,810`), leaving out
the numbers of sections, figures, tables, equations and versions. Such a number passes when some value printed by the
notebook's cells (their outputs, and their sources, where the declarations name settings), held in a committed summary
(`nbs/results/**/*.csv`), or listed in the data tables (`data.SPLIT_SIZES`) rounds to it, as a fraction or as a
percentage (`0.9380` passes `93.8`). A markdown cell may name other notebooks whose stored outputs its numbers come
from, in a comment: `<!-- numbers from: precision_bf16 -->`. Paper files given as arguments add the paper's own
numbers, for prose that quotes them. Usage, from the repository root:

    python tools/check_numbers.py [../shared/paper/does-knowledge-distillation-really-work.md ...]

Exits non-zero and lists each number that nothing printed rounds to, with its notebook, cell and context.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from kdfidelity.data import SPLIT_SIZES

ROOT = Path(__file__).resolve().parent.parent
MEASURED = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+)(?!\w)")  # in prose: decimals, 1,234
PRINTED = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")  # in printed text: any number
ALSO_FROM = re.compile(r"<!-- numbers from: ([\w, ]+) -->")
REFERENCE = re.compile(  # "Sections 4.2 and 6.1", "Eq. 2", "torch 2.14.1": names of places and versions, not numbers
    r"\b(?:Sections?|Appendix|Appendices|Figures?|Tables?|Eqs?\.|Equations?|torch|Python|version)"
    r"(?:\s+(?:and\s+|or\s+)?[A-Z]?\d+(?:\.\d+)*,?)+"
)
MAX_DIGITS = 6


def values(text: str) -> set[float]:
    "Every number written in `text`."
    return {float(token.replace(",", "")) for token in PRINTED.findall(text)}


def printed(notebook: Path) -> str:
    "The text a notebook's code cells hold: sources and stored outputs."
    parts = []
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        parts.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            parts += ["".join(v) for k, v in output.get("data", {}).items() if k.startswith("text/")]
    return "\n".join(parts)


def roundings(numbers: set[float]) -> dict[int, set[float]]:
    "Per number of decimals: every value rounded to them, as it stands and as a percentage."
    return {d: {round(v, d) for v in numbers} | {round(100 * v, d) for v in numbers} for d in range(MAX_DIGITS + 1)}


def unprinted(notebook: Path, common: set[float]) -> list[tuple[int, str, str]]:
    "(cell index, number, context) for each measured number of the notebook's prose that nothing printed rounds to."
    cells, bad = json.loads(notebook.read_text())["cells"], []
    own = roundings(values(printed(notebook)) | common)  # once per notebook: a cell naming others adds theirs
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        text = REFERENCE.sub(lambda m: " " * len(m[0]), "".join(cell["source"]))
        others = {n.strip() for m in ALSO_FROM.finditer(text) for n in m[1].split(",") if n.strip()}
        theirs = roundings(set().union(*(values(printed(notebook.parent / f"{n}.ipynb")) for n in others)))
        allowed = {d: own[d] | theirs[d] for d in own}
        for match in MEASURED.finditer(text):
            number = match[1].replace(",", "")
            decimals = min(len(number.partition(".")[2]), MAX_DIGITS)
            if round(float(number), decimals) not in allowed[decimals]:
                context = " ".join(text[max(0, match.start() - 60) : match.end() + 20].split())
                bad.append((i, match[1], context))
    return bad


def main(argv: list[str]) -> int:
    common = {float(n) for sizes in SPLIT_SIZES.values() for n in sizes.values()}
    common |= values("\n".join(p.read_text() for p in sorted((ROOT / "nbs" / "results").rglob("*.csv"))))
    common |= values("\n".join(Path(p).read_text() for p in argv))
    bad = [(nb.name, *b) for nb in sorted((ROOT / "nbs" / "paper").glob("*.ipynb")) for b in unprinted(nb, common)]
    for name, i, number, context in bad:
        print(f"{name} cell {i}: {number} is printed nowhere: ...{context}...")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
