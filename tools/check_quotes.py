"""Check that every quotation in the paper notebooks' prose is verbatim from the paper.

A quotation is italic text in double quotes (*"..."*, the notebooks' convention) or text in curly quotes (“...”) in a
markdown cell of `nbs/paper/*.ipynb`, at least four words long. Each must occur in the paper's main text (whitespace,
Markdown emphasis, footnote marks and citations aside); an ellipsis ("...", "…") in a quotation joins pieces that must
each occur, in order. Usage, from the repository root:

    python tools/check_quotes.py ../shared/paper/does-knowledge-distillation-really-work.md

Exits non-zero and lists the quotations that are not found.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUOTE = re.compile(r"\*\"([^\"]+?)\"\*|“([^”]+?)”")


def normalised(text: str) -> str:
    "Text without Markdown emphasis, math dollar signs and line breaks, with single spaces and plain quotes."
    text = re.sub(r"[*_$]", "", text).replace("’", "'").replace("‘", "'")
    return " ".join(text.split())


def quotations(notebook: Path):
    "The (cell index, quotation) pairs of a notebook's markdown cells."
    cells = json.loads(notebook.read_text())["cells"]
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            for match in QUOTE.finditer("".join(cell["source"])):
                q = match[1] or match[2]
                if len(q.split()) >= 4:
                    yield i, q


def found(quote: str, paper: str) -> bool:
    "Whether `quote` (its pieces between ellipses, in order) occurs in `paper`."
    at = 0
    for piece in re.split(r"\s*(?:\.\.\.|…|\[\.\.\.\])\s*", normalised(quote)):
        piece = piece.strip(" .,;:")
        if not piece:
            continue
        at = paper.find(piece, at)
        if at < 0:
            return False
        at += len(piece)
    return True


def main(argv: list[str]) -> int:
    paper = re.sub(r"<sup>.*?</sup>|\s\[\d+(?:, \d+)*\]", "", Path(argv[0]).read_text())  # footnote marks, citations
    paper = normalised(paper)
    bad = [
        (nb.name, i, q)
        for nb in sorted((ROOT / "nbs" / "paper").glob("*.ipynb"))
        for i, q in quotations(nb)
        if not found(q, paper)
    ]
    for name, i, q in bad:
        print(f"{name} cell {i}: not verbatim: {q!r}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
