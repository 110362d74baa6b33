"""The speed benchmark runs end to end on a tiny setting and reports both loops side by side (speed itself is not
asserted)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_reports_reference_and_kdfidelity(tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "distill_step.py"),
            "--workloads",
            "lenet5-t1",
            "--repeats",
            "1",
            "--min-repeats",
            "1",
            "--steps",
            "2",
            "--precision",
            "fp32",
            "--threads",
            "2",
            "--workers",
            "0",
            "--no-channels-last",
            "--device",
            "cpu",
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    rows = json.loads(out.read_text())["rows"]
    assert {r["impl"] for r in rows} == {"kdfidelity", "reference"}
    assert all(r["images_per_s"] > 0 for r in rows), rows
    kdfidelity = {r["option"]: r for r in rows if r["impl"] == "kdfidelity"}
    assert set(kdfidelity) == {"default", "cached", "eager"}, kdfidelity  # compiled by default; eager is the option row
    assert kdfidelity["default"]["compiled"] and not kdfidelity["eager"]["compiled"]


def test_benchmark_profile_names_where_each_step_spends_its_time():
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "distill_step.py"),
            "--workloads",
            "lenet5-t1",
            "--profile",
            "2",
            "--profile-top",
            "40",
            "--precision",
            "fp32",
            "--threads",
            "2",
            "--no-compile",
            "--device",
            "cpu",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    sections = {}
    for block in run.stdout.strip().split("\n\n"):
        title, _, *rows = block.splitlines()
        sections[title.split(":")[0]] = {row.split(None, 3)[3]: float(row.split()[0]) for row in rows}
    assert set(sections) == {
        "lenet5-t1 kdfidelity default",
        "lenet5-t1 kdfidelity cached",
        "lenet5-t1 reference default",
    }
    assert all(len(rows) == 40 and all(ms >= 0 for ms in rows.values()) for rows in sections.values()), sections
    assert sections["lenet5-t1 kdfidelity default"]["aten::convolution_backward"] > 0  # the student's backward pass
    assert any("DataLoader" in name for name in sections["lenet5-t1 reference default"])  # per-sample data loading


def test_plane_benchmark_reports_one_and_several_points_per_pass(tmp_path):
    out = tmp_path / "plane.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "plane_eval.py"),
            "--points",
            "2",
            "--passes",
            "1",
            "2",
            "--examples",
            "16",
            "--threads",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [r["points_per_pass"] for r in rows] == [1, 2] and all(r["seconds_per_point"] > 0 for r in rows), rows
    assert rows[0]["speedup_over_one_per_pass"] == 1.0


def test_optimizer_benchmark_times_every_optimizer_of_the_patience_chapter(tmp_path):
    "One round of one step per optimiser: a row each, in the chapter's order, with positive times."
    import pandas as pd

    from kdfidelity.paper.patience import PATIENCE_OPTIMIZERS

    out = tmp_path / "steps.csv"
    script = ROOT / "benchmarks" / "optimizer_step.py"
    args = ["--steps", "1", "--rounds", "1", "--warmup", "0", "--out", str(out)]
    run = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    table = pd.read_csv(out, index_col=0)
    assert list(table.index) == list(PATIENCE_OPTIMIZERS)
    assert (table["median"] > 0).all() and table.loc["SGD", "relative to SGD"] == 1.0
