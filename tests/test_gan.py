"""A GAN is a run: killed with SIGKILL it resumes to the very weights of an uninterrupted run, and every experiment that
needs its samples reuses it instead of training it again."""

import json
import subprocess
from pathlib import Path

from conftest import kill_repeatedly, python_script, run_cli

# Long enough to be killed several times (30 generator steps, a checkpoint every 3), small enough for seconds in all.
_TRAIN_GAN = """
import sys
from kdfidelity.gan import GanConfig
from kdfidelity.gan_runs import GanSpec
from kdfidelity.specs import DataSpec, run_spec
from kdfidelity.workspace import Workspace
spec = GanSpec(DataSpec("digits", size=64), GanConfig(iterations=30, batch_size=16, n_dis=2, z_dim=16, g_width=16,
                                                      d_width=16, log_every=3, seed=5))
print(spec.run_id, flush=True)
run_spec(spec, Workspace.from_settings(results_dir=sys.argv[1], progress=False))
"""


def _train(results: Path, tmp_path: Path) -> subprocess.Popen:
    return python_script(_TRAIN_GAN, results, tmp_path)


def _history(run_dir: Path) -> list[dict]:
    "The GAN's log without its wall times."
    return [
        {k: v for k, v in json.loads(line).items() if k != "seconds"}
        for line in (run_dir / "history.jsonl").read_text().splitlines()
    ]


def test_gan_run_killed_with_sigkill_resumes_to_identical_weights(tmp_path):
    reference = _train(tmp_path / "reference", tmp_path)
    out = reference.communicate(timeout=300)[0]
    assert reference.returncode == 0, out
    run_id = out.split()[0]
    reference_dir = tmp_path / "reference" / "runs" / run_id

    killed = tmp_path / "killed"
    checkpoint = killed / "runs" / run_id / "checkpoint.pt"
    kills = kill_repeatedly(
        lambda: _train(killed, tmp_path), checkpoint, killed / "runs" / run_id / "final.json", attempts=8, max_delay=0.6
    )
    assert kills >= 2, "the GAN finished too fast to be interrupted; the test proves nothing"

    last = _train(killed, tmp_path)
    out = last.communicate(timeout=300)[0]
    assert last.returncode == 0, out
    killed_dir = killed / "runs" / run_id
    assert (killed_dir / "model.pt").read_bytes() == (reference_dir / "model.pt").read_bytes()
    assert json.loads((killed_dir / "final.json").read_text()) == json.loads((reference_dir / "final.json").read_text())
    assert _history(killed_dir) == _history(reference_dir)
    assert [r["iteration"] for r in _history(killed_dir)] == list(range(3, 31, 3))
    assert not checkpoint.exists() and not list(killed.rglob("*.tmp"))


def test_the_gan_is_trained_once_and_reused_by_every_experiment_that_needs_it(tmp_path):
    first = run_cli(["run", "fig1"], tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    gan_lines = [line for line in first.stdout.splitlines() if "training gan " in line]
    assert len(gan_lines) == 1, first.stdout  # progress: which run trains, then its losses when done
    gan_id = gan_lines[0].split("training gan ")[1].split()[0]
    assert f"{gan_id} done in " in first.stdout and "d_loss" in first.stdout, first.stdout
    model = tmp_path / "results" / "runs" / gan_id / "model.pt"
    stamp = model.stat().st_mtime_ns

    fig3 = run_cli(["run", "fig3"], tmp_path)  # Section 5.1's GAN policy samples the same generator
    assert fig3.returncode == 0, fig3.stdout + fig3.stderr
    assert "training gan " not in fig3.stdout, fig3.stdout
    assert model.stat().st_mtime_ns == stamp
    spec = json.loads((tmp_path / "results" / "runs" / gan_id / "spec.json").read_text())
    assert spec["kind"] == "sngan"
    gan_students = [json.loads(p.read_text()) for p in (tmp_path / "results" / "runs").glob("*/spec.json")]
    gan_students = [s for s in gan_students if s.get("train", {}).get("augmentation") == "gan"]
    assert gan_students and all(s["generator"] == spec for s in gan_students)

    status = run_cli(["status", "fig1"], tmp_path)
    assert "0 partial, 0 missing" in status.stdout, status.stdout
