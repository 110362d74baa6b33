"""The checks of tools/ that hold the notebooks to the project's rules: check_numbers.py (a measured number in a paper
notebook's prose is printed by one of its cells) and check_outputs.py (no stored output shows a path of the machine)."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tool(name: str):
    "The module of script tools/`name`.py."
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_numbers, check_outputs = tool("check_numbers"), tool("check_outputs")


def notebook(path: Path, prose: str, output: str = "", source: str = "x = 1") -> Path:
    "A notebook of one code cell (`source`, printing `output`) and one markdown cell (`prose`)."
    cells = [
        {"cell_type": "code", "source": [source], "outputs": [{"output_type": "stream", "text": [output]}]},
        {"cell_type": "markdown", "source": [prose]},
    ]
    path.write_text(json.dumps({"cells": cells}))
    return path


def flagged(path: Path, common=frozenset()) -> list[str]:
    return [number for _, number, _ in check_numbers.unprinted(path, set(common))]


def test_a_number_passes_only_where_a_printed_value_rounds_to_it(tmp_path):
    printed = "agreement 0.938012 ± 0.0017, kl 0.0685, 1198810 parameters"
    nb = notebook(tmp_path / "a.ipynb", "Agreement 93.8 ± 0.2%, KL 0.069 nats, 1,198,810 parameters.", printed)
    assert flagged(nb) == []
    nb = notebook(tmp_path / "b.ipynb", "Agreement 93.9%, KL 0.0684 nats, 1,198,811 parameters.", printed)
    assert flagged(nb) == ["93.9", "0.0684", "1,198,811"]


def test_settings_in_code_references_and_plain_integers_are_not_held_to_it(tmp_path):
    prose = "Sections 4.2 and 6.1, Figure 12, Eq. 2.1, torch 2.14.1: lr 0.05 for 300 epochs, in 2 trials; then 0.07."
    assert flagged(notebook(tmp_path / "a.ipynb", prose, source="lr=0.05")) == ["0.07"]


def test_numbers_from_another_notebook_pass_where_the_cell_names_it(tmp_path):
    notebook(tmp_path / "other.ipynb", "", "teacher accuracy 0.842133")
    assert flagged(notebook(tmp_path / "a.ipynb", "The teacher reached 84.21%.")) == ["84.21"]
    named = notebook(tmp_path / "b.ipynb", "The teacher reached 84.21%.\n<!-- numbers from: other -->")
    assert flagged(named) == []


def test_a_stored_output_may_not_show_a_path_of_the_machine(tmp_path):
    for printed in ("figure: /tmp/tmpab12/fig1.png", "results in /home/me/kd/results", "C:\\Users\\me\\results"):
        nb = notebook(tmp_path / "a.ipynb", "", printed + "\n")
        assert [i for i, _ in check_outputs.machine_paths(nb)] == [0], printed
    relative = notebook(
        tmp_path / "b.ipynb", "/tmp is fine in prose", "figure: results/fig1/cpu/fig1.png 1/2 a/tmp/b\n"
    )
    assert check_outputs.machine_paths(relative) == []
