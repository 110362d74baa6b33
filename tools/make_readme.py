"""Write README.md from nbs/index.ipynb (prose, code and stored outputs), or with --check fail if it is out of step.

The README's result tables are not typed: a line `<!-- summary: <section>/<name>_<scale>.csv -->` in the notebook's
markdown is replaced by that committed results summary (`nbs/results/...`, written by `kdfidelity.results.save_summary`)
as a Markdown table, so the README changes when a summary does."""

import re
import sys
from pathlib import Path

import nbformat
import pandas as pd
from nbconvert import MarkdownExporter

from kdfidelity.results import markdown_table

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"^<!-- summary: (\S+\.csv) -->$", re.M)
HEADER = "<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, then run the script. -->\n\n"


def summary_table(relative: str) -> str:
    "The committed summary `nbs/results/<relative>` as a Markdown table."
    path = ROOT / "nbs" / "results" / relative
    if not path.is_file():
        sys.exit(f"FAIL: nbs/index.ipynb shows the summary {relative}, but nbs/results/{relative} does not exist")
    # as committed, text: a column of numbers would lose the sign of "+1.9" and the digits of "0.90"
    return markdown_table(pd.read_csv(path, index_col=0, dtype=str, keep_default_na=False))


def render() -> str:
    notebook = nbformat.read(ROOT / "nbs" / "index.ipynb", as_version=4)
    body, _ = MarkdownExporter().from_notebook_node(notebook)
    body = re.sub(r"^```\n(?=\S)", "```python\n", body, flags=re.M)  # nbconvert leaves code fences untagged
    body = re.sub(r"\]\((?!https?:|/)([^)]+)\)", r"](nbs/\1)", body)  # links relative to nbs/ -> relative to the root
    body = SUMMARY.sub(lambda m: summary_table(m[1]), body)
    body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    return HEADER + body


if __name__ == "__main__":
    readme, text = ROOT / "README.md", render()
    if "--check" in sys.argv[1:]:
        if not readme.exists() or readme.read_text() != text:
            sys.exit(
                "FAIL: README.md is out of step with nbs/index.ipynb; run `python tools/make_readme.py` and commit."
            )
    else:
        readme.write_text(text)
