"""`kdfidelity run --workers N`: N processes share the grid through the results store's claims, and die with their
parent."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import kdfidelity_command, kdfidelity_env, run_cli


def _finals(results: Path) -> dict:
    return {
        d.name: json.loads((d / "final.json").read_text())
        for d in (results / "runs").iterdir()
        if (d / "final.json").exists()
    }


def test_two_workers_train_every_run_once_with_the_results_of_one_process(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    single = run_cli(["run", "fig2", "--scale", "smoke", "--workers", "1"], one)
    pair = run_cli(["run", "fig2", "--scale", "smoke", "--workers", "2"], two)
    assert single.returncode == 0 and pair.returncode == 0, single.stderr + pair.stderr
    assert "training in 2 worker processes of 1 thread(s) each" in pair.stdout
    trained = re.findall(r"^\[worker [01]\] +([0-9a-f]{16}) done in", pair.stdout, re.M)
    assert sorted(trained) == sorted(_finals(two / "results")), "each run is trained by exactly one worker"
    assert _finals(two / "results") == _finals(one / "results")  # single-threaded either way: the same numbers
    assert pair.stdout.count("figure: ") == 1  # the parent writes the table and figure once, after its workers


def _live_workers(tmp_path: Path) -> list[str]:
    "Command lines of live `--worker-index` processes started for `tmp_path`."
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "--worker-index" in text and str(tmp_path) in text:
            found.append(text)
    return found


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="workers ask Linux (PR_SET_PDEATHSIG) to end them with their parent"
)
def test_killing_run_ends_its_workers(tmp_path):
    proc = subprocess.Popen(
        [*kdfidelity_command(), "run", "fig3", "--scale", "smoke", "--workers", "2"],
        cwd=tmp_path,
        env=kdfidelity_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not any((tmp_path / "results" / "runs").glob("*/checkpoint.pt")):
        time.sleep(0.05)
    assert _live_workers(tmp_path), "the workers never started"
    proc.kill()
    proc.wait()
    deadline = time.time() + 10
    while _live_workers(tmp_path) and time.time() < deadline:
        time.sleep(0.1)
    assert not _live_workers(tmp_path), "workers outlived their killed parent"
