"""Runs survive kill -9 at any moment, and several processes share one results directory without doing work twice."""

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import kdfidelity_command, kdfidelity_env, run_cli


def _finals(results: Path) -> dict:
    "run id -> final metrics, for every finished run under `results`."
    return {
        d.name: json.loads((d / "final.json").read_text())
        for d in (results / "runs").iterdir()
        if (d / "final.json").exists()
    }


def _independent_scores(results: Path) -> dict:
    "(student, twin) -> the twin's score against the student's teacher, for every stored independent score."
    return {
        (f.parent.parent.name, f.stem): json.loads(f.read_text())
        for f in (results / "runs").glob("*/independent/*.json")
    }


def _attempts(run_dir: Path) -> list[str]:
    "The attempt records of a run directory (one line per time a process ran it)."
    path = run_dir / "attempts.jsonl"
    return path.read_text().splitlines() if path.exists() else []


def _weights(results: Path) -> dict:
    return {d.name: (d / "model.pt").read_bytes() for d in (results / "runs").iterdir() if (d / "model.pt").exists()}


def _start(tmp_path: Path, experiment: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*kdfidelity_command(), "run", experiment, "--scale", "smoke"],
        cwd=tmp_path,
        env=kdfidelity_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _modified(path: Path) -> float:
    "`path`'s modification time; 0 if it is gone (a finished run removes its checkpoint)."
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _wait_for_training(results: Path, proc: subprocess.Popen, timeout=120.0) -> bool:
    "Wait until `proc` has written a checkpoint (its training is under way); False if the process ended first."
    started, deadline = time.time(), time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if any(_modified(c) >= started for c in (results / "runs").glob("*/checkpoint.pt")):
            return True
        time.sleep(0.02)
    return False


def _training_seconds(tmp_path: Path, experiment: str) -> float:
    "Run `experiment` at smoke scale to the end; the seconds from its first checkpoint to its exit."
    proc = _start(tmp_path, experiment)
    assert _wait_for_training(tmp_path / "results", proc), proc.communicate()[0]
    began = time.time()
    output = proc.communicate(timeout=300)[0]  # run_cli's limit, which the reference run had before
    assert proc.returncode == 0, output
    return time.time() - began


# LeNet-5 students; ResNet ensembles under every policy (the GAN one trains a GAN first); halves of a split; GAN
# samples; teachers shown independent, fixed and MixUp views, from stored tables and live
@pytest.mark.parametrize("experiment", ["fig2", "fig3", "fig4", "fig1", "patience_views"])
def test_kill_9_at_random_points_then_rerun_gives_identical_results(tmp_path, experiment):
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    reference_dir.mkdir()
    killed_dir.mkdir()
    # Kill delays scale with the reference's training time, so that a fast CPU still leaves most kills mid-training
    training_seconds = _training_seconds(reference_dir, experiment)

    rng, kills = random.Random(0), 0
    for attempt in range(4):
        proc = _start(killed_dir, experiment)
        if not _wait_for_training(killed_dir / "results", proc):
            proc.communicate()
            break  # it finished before training began: nothing left to interrupt
        time.sleep(rng.uniform(0.0, 0.3 * training_seconds))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate()
    assert kills >= 2, "the smoke run finished too fast to be interrupted; the test proves nothing"

    final = run_cli(["run", experiment, "--scale", "smoke"], killed_dir)
    assert final.returncode == 0, final.stdout + final.stderr
    assert _finals(killed_dir / "results") == _finals(reference_dir / "results")
    assert _weights(killed_dir / "results") == _weights(reference_dir / "results")
    assert _independent_scores(killed_dir / "results") == _independent_scores(reference_dir / "results")
    leftovers = list((killed_dir / "results").rglob("*.tmp"))
    assert not leftovers, f"temporary files were left behind: {leftovers}"
    attempts = [len(_attempts(d)) for d in (killed_dir / "results" / "runs").iterdir() if (d / "final.json").exists()]
    assert min(attempts) >= 1 and max(attempts) >= 2, attempts  # each run says what ran it; a resumed one, each time


# A process started with the others imports everything (torch and the whole package: seconds, more than the smoke
# grid's training), then waits at a barrier until all have imported, then runs `kdfidelity run` through the same
# `cli.main` the console script calls.
_AFTER_BARRIER = """
import sys, time
from pathlib import Path
from kdfidelity import cli
barrier, me, parties = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
(barrier / me).touch()
deadline = time.time() + 120
while len(list(barrier.iterdir())) < parties:
    if time.time() > deadline: sys.exit(f"barrier: only {len(list(barrier.iterdir()))} of {parties} processes arrived")
    time.sleep(0.001)
sys.exit(cli.main(sys.argv[4:]))
"""


def _start_together(tmp_path: Path, parties: int) -> list[subprocess.Popen]:
    "`parties` processes running `kdfidelity run fig2 --scale smoke` from the same moment on, imports already paid."
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _AFTER_BARRIER,
                str(barrier),
                str(i),
                str(parties),
                "run",
                "fig2",
                "--scale",
                "smoke",
            ],
            cwd=tmp_path,
            env=kdfidelity_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(parties)
    ]


def test_two_processes_run_every_run_exactly_once(tmp_path):
    # Why the barrier: started with no barrier, one process can finish the whole smoke grid (~4 s of training) while
    # the other is still importing torch, and then trains nothing, which is correct behaviour. After the barrier both
    # reach the runner within milliseconds. The runner walks runs in order (teacher 0, its students, teacher 1, ...)
    # skipping runs another holds, so while one trains teacher 0 the other claims teacher 1; the second process can
    # only end up with nothing if it stalls past the first's claim of its last claimable run (seconds), far beyond the
    # milliseconds that separate them after the barrier.
    procs = _start_together(tmp_path, 2)
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    trained = [[line.split()[0] for line in out.splitlines() if " done in " in line] for out in outputs]
    finals = _finals(tmp_path / "results")
    assert sorted(sum(trained, [])) == sorted(finals), "each run must be trained by exactly one process"
    assert all(trained), f"each process must train at least one run; runs trained per process: {trained}"
    for d in (tmp_path / "results" / "runs").iterdir():
        json.loads((d / "spec.json").read_text())
        assert (d / "final.json").exists() and not (d / "checkpoint.pt").exists()
    assert not list((tmp_path / "results").rglob("*.tmp"))
