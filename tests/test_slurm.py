"""`kdfidelity submit` against a real single-node SLURM with accounting, started by `tools/slurm-local.sh`: a smoke grid
end to end, a level cancelled mid-run and resubmitted, a task warned of its time limit requeued and finished, a failing
run reported in one line while the rest finish. Skipped, with the reason, only where the script cannot run here."""

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_cli

ENDED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "DEADLINE"}


@pytest.fixture(scope="module")
def slurm():
    "A running single-node SLURM (the script is idempotent: about a second when it is already up)."
    if os.geteuid() != 0:
        pytest.skip("tools/slurm-local.sh must run as root to install and start SLURM")
    out = subprocess.run(["bash", str(ROOT / "tools" / "slurm-local.sh")], capture_output=True, text=True, timeout=600)
    if out.returncode == 3:
        pytest.skip(out.stderr.strip().splitlines()[-1])
    assert out.returncode == 0, out.stdout + out.stderr


def _finals(results: Path) -> dict:
    "Every finished run's final metrics and every independent score, by path under the store."
    paths = [*(results / "runs").glob("*/final.json"), *(results / "runs").glob("*/independent/*.json")]
    return {str(path.relative_to(results)): json.loads(path.read_text()) for path in sorted(paths)}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    "fig3 and fig2 at smoke scale run by `kdfidelity run` on this machine: what SLURM must reproduce."
    home = tmp_path_factory.mktemp("local")
    for name in ("fig3", "fig2"):
        out = run_cli(["run", name, "--scale", "smoke", "--quiet", "--workers", "1"], home)
        assert out.returncode == 0, out.stderr
    return _finals(home / "results")


def _submit(tmp_path: Path, *args) -> dict:
    "`kdfidelity submit ARGS` (at smoke scale); its submission record."
    started = time.time()
    out = run_cli(["submit", *args, "--scale", "smoke"], tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert time.time() - started < 60, "submit returns at once, leaving the work to SLURM"
    assert re.search(r"^submitted \w+ at scale smoke: jobs \d+( \d+)*;", out.stdout, re.M), out.stdout
    name = args[0]
    return json.loads((tmp_path / "results" / "slurm" / name / "smoke" / "submission.json").read_text())


def _tasks(record: dict) -> list[str]:
    return [job_id for level in record["levels"] for job_id in level["tasks"]]


def _states(job_ids: list[str]) -> dict[str, str]:
    from kdfidelity.slurm import job_states

    return job_states(job_ids)  # squeue and sacct asked afresh: no cached state


def _wait(job_ids: list[str], until, timeout: float = 240) -> dict[str, str]:
    "Poll SLURM until `until(states)`; the states then."
    deadline = time.time() + timeout
    while time.time() < deadline:
        states = _states(job_ids)
        if until(states):
            return states
        time.sleep(1)
    pytest.fail(f"SLURM jobs did not get there in {timeout} s: {_states(job_ids)}")


def _all_ended(states: dict) -> bool:
    return all(s in ENDED for s in states.values())


def _logs(tmp_path: Path, name: str, suffix: str) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted((tmp_path / "results" / "slurm" / name).rglob(suffix)))


def _status(tmp_path: Path, name: str) -> str:
    out = run_cli(["status", name, "--scale", "smoke"], tmp_path)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _sacct_times(job_ids: list[str]) -> dict[str, tuple[str, str]]:
    "Start and end of each task's last attempt (ISO times sort as strings)."
    arrays = ",".join(sorted({j.split("_")[0] for j in job_ids}))
    out = subprocess.run(
        ["sacct", "-n", "-P", "-X", "-j", arrays, "-o", "JobID,Start,End"], capture_output=True, text=True, check=True
    )
    return {line.split("|")[0]: tuple(line.split("|")[1:3]) for line in out.stdout.splitlines() if line.count("|") == 2}


def test_submit_runs_the_grid_level_by_level_with_the_results_of_run(slurm, reference, tmp_path):
    record = _submit(tmp_path, "fig3", "--time", "10", "--max-tasks", "2", "--workers", "2", "--cpus", "1")
    levels = [level["level"] for level in record["levels"]]
    assert levels == [0, 1, 2]  # teachers, students, the scoring of their independent twins
    assert [len(level["tasks"]) for level in record["levels"]] == [2, 2, 1]
    students = record["levels"][1]["tasks"]
    status = _status(tmp_path, "fig3")  # the students wait for their teachers: none can be done yet
    assert f"on SLURM (jobs {' '.join(str(level['job_id']) for level in record['levels'])}): " in status, status
    for task in students:
        assert re.search(rf"^    (queued|running) under {task}: [0-9a-f]{{16}}", status, re.M), status
    states = _wait(_tasks(record), _all_ended)
    assert set(states.values()) == {"COMPLETED"}, states

    times = _sacct_times(_tasks(record))
    for before, after in zip(record["levels"], record["levels"][1:]):
        assert max(times[j][1] for j in before["tasks"]) <= min(times[j][0] for j in after["tasks"])  # afterok
    out = _logs(tmp_path, "fig3", "*_log.out")
    trained = re.findall(r"^\[worker [01]\] +([0-9a-f]{16}) done in", out, re.M)
    done = [p.parent.name for p in (tmp_path / "results" / "runs").glob("*/final.json")]
    assert len(done) == 27 and sorted(trained) == sorted(done), "every run trained once, by one worker"
    assert "training in 2 worker processes" in out
    finals = _finals(tmp_path / "results")
    assert finals == {k: v for k, v in reference.items() if k in finals} and len(finals) == 27 + 22  # runs, twins
    status = _status(tmp_path, "fig3")
    assert "27 done, 0 partial, 0 missing" in status and "0 queued, 0 running, 0 failed" in status


def test_a_level_cancelled_mid_run_then_resubmitted_gives_the_same_results(slurm, reference, tmp_path):
    args = ("fig3", "--time", "10", "--max-tasks", "1")
    record = _submit(tmp_path, *args)
    students, scoring = record["levels"][1]["job_id"], record["levels"][2]["job_id"]
    log = tmp_path / "results" / "slurm" / "fig3" / "smoke" / students / f"{students}_0_log.out"
    deadline = time.time() + 180
    while time.time() < deadline and " done in " not in (log.read_text() if log.exists() else ""):
        time.sleep(0.2)
    subprocess.run(["scancel", students], check=True)  # mid-level: some students done, the rest not
    states = _wait(_tasks(record), _all_ended)
    assert states[students] == "CANCELLED" and states[scoring] == "CANCELLED", states  # its dependent level too
    assert len(_finals(tmp_path / "results")) < 27 + 22

    again = _submit(tmp_path, *args)
    assert [level["level"] for level in again["levels"]] == [1, 2]  # the teachers are done: not submitted again
    states = _wait(_tasks(again), _all_ended)
    assert set(states.values()) == {"COMPLETED"}, states
    finals = _finals(tmp_path / "results")
    assert finals == {k: v for k, v in reference.items() if k in finals} and len(finals) == 27 + 22


def test_a_task_warned_of_its_time_limit_is_requeued_and_resumes(slurm, reference, tmp_path):
    record = _submit(tmp_path, "fig3", "--time", "10", "--max-tasks", "1", "--requeues", "2")
    students = record["levels"][1]["job_id"]
    log = tmp_path / "results" / "slurm" / "fig3" / "smoke" / students / f"{students}_0_log.out"
    deadline = time.time() + 180
    while time.time() < deadline and " done in " not in (log.read_text() if log.exists() else ""):
        time.sleep(0.2)
    # what SLURM sends --signal-delay seconds before a task's time limit (and what preemption sends); with a limit of
    # at most 10 minutes submitit counts it as the time limit, not a preemption
    subprocess.run(["scancel", "--signal=USR2", students], check=True)
    _wait([students], lambda s: s[students] == "PENDING", timeout=60)  # requeued, held by SLURM for a while
    assert "Requeued job" in log.read_text()
    # SLURM holds a requeued job about two minutes; start it sooner, but not in the second of the requeue: slurmd
    # refuses to launch a job whose credential was revoked in the second the new one is made ("Job credential revoked",
    # exit 1 in 0 s), as happened once when the test said StartTime=now
    subprocess.run(["scontrol", "update", f"jobid={students}", "StartTime=now+2"], check=True)
    states = _wait(_tasks(record), _all_ended)
    assert set(states.values()) == {"COMPLETED"}, states
    text = log.read_text()
    first, second = text.split("Requeued job", 1)
    done_first = re.findall(r"^ +([0-9a-f]{16}) done in", first, re.M)
    done_second = re.findall(r"^ +([0-9a-f]{16}) done in", second, re.M)
    assert done_first and done_second and not set(done_first) & set(done_second)  # resumed, nothing trained twice
    trained_now, already = map(int, re.search(r"(\d+) run\(s\) trained now, (\d+) already done", second).groups())
    assert trained_now == len(done_second) and already >= len(done_first) and trained_now + already == 22
    finals = _finals(tmp_path / "results")
    assert finals == {k: v for k, v in reference.items() if k in finals} and len(finals) == 27 + 22


def test_a_failing_run_is_one_line_while_the_rest_finish(slurm, reference, tmp_path):
    from kdfidelity.experiments import get_experiment

    student = next(pt.spec for pt in get_experiment("fig2").points("smoke") if pt.spec.role == "student")
    blocker = tmp_path / "results" / "runs" / student.run_id
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the run's directory belongs")
    record = _submit(tmp_path, "fig2", "--time", "10", "--max-tasks", "1")
    states = _wait(_tasks(record), _all_ended)
    assert set(states.values()) == {"COMPLETED"}, states  # the task reports its failed run and succeeds
    finals = _finals(tmp_path / "results")
    assert len(finals) == 5 and finals == {k: v for k, v in reference.items() if k in finals}
    status = _status(tmp_path, "fig2")
    assert "5 done, 0 partial, 1 missing" in status and "1 failed" in status, status
    failed = [line for line in status.splitlines() if "failed under" in line]
    assert len(failed) == 1 and student.run_id in failed[0] and "Error" in failed[0], status


def test_bad_submissions_are_one_line(slurm, tmp_path):
    for args, message in (
        (["--partition", "nope"], "unknown partition 'nope'; this cluster has "),
        (["--time", "1"], "a time limit of 1 min cannot hold one epoch"),
        (["--cpus", "64"], "sbatch refused level 0 of fig2: "),  # more than the node has: EnforcePartLimits=ALL
    ):
        out = run_cli(["submit", "fig2", "--scale", "smoke", *args], tmp_path)
        assert out.returncode == 2 and message in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not (tmp_path / "results" / "slurm" / "fig2" / "smoke" / "submission.json").exists()  # nothing submitted
    no_slurm = run_cli(["submit", "fig2", "--scale", "smoke"], tmp_path, PATH=str(Path(shutil.which("python")).parent))
    assert no_slurm.returncode == 2 and "sbatch is not on PATH" in no_slurm.stderr, no_slurm.stderr
