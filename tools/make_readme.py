"""Write README.md from nbs/index.ipynb (prose, code and stored outputs), or with --check fail if it is out of step."""

import re
import sys
from pathlib import Path

import nbformat
from nbconvert import MarkdownExporter

ROOT = Path(__file__).resolve().parents[1]
HEADER = "<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, then run the script. -->\n\n"


def render() -> str:
    notebook = nbformat.read(ROOT / "nbs" / "index.ipynb", as_version=4)
    body, _ = MarkdownExporter().from_notebook_node(notebook)
    body = re.sub(r"^```\n(?=\S)", "```python\n", body, flags=re.M)  # nbconvert leaves code fences untagged
    body = re.sub(r"\]\((?!https?:|/)([^)]+)\)", r"](nbs/\1)", body)  # links relative to nbs/ -> relative to the root
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
