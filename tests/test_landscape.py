"""A loss plane is a run: killed with SIGKILL while its grid is being evaluated, it resumes to the very values of an
uninterrupted evaluation."""

import json
import subprocess
from pathlib import Path

from conftest import kill_repeatedly, python_script

# A LeNet-5 teacher on 100 digits and a student started at lambda = 0.25 (trained first, in a second), then a plane of
# 24 x 24 points on 64 examples: seconds of evaluation, checkpointed after every point, long enough to be killed often.
_PLANE = """
import sys
from kdfidelity.plane_runs import PlaneSpec
from kdfidelity.runs import RunSpec
from kdfidelity.specs import DataSpec, run_spec
from kdfidelity.workspace import Workspace
from kdfidelity.train import TrainConfig
config = TrainConfig(epochs=1, batch_size=32, augmentation="baseline", eval_every=1)
teacher = RunSpec("lenet5", (DataSpec("digits", size=100),), DataSpec("digits", "test"), config, seed=1)
student = RunSpec(
    "lenet5", (DataSpec("digits", size=100),), DataSpec("digits", "test"), config, teachers=(teacher,), init=0.25
)
plane = PlaneSpec(student, points=24, examples=64)
print(plane.run_id, flush=True)
ws = Workspace.from_settings(results_dir=sys.argv[1], progress=False)
for spec in (teacher, student, plane):
    run_spec(spec, ws)
"""


def _evaluate(results: Path, tmp_path: Path) -> subprocess.Popen:
    return python_script(_PLANE, results, tmp_path)


def test_loss_plane_killed_with_sigkill_resumes_to_identical_values(tmp_path):
    reference = _evaluate(tmp_path / "reference", tmp_path)
    out = reference.communicate(timeout=300)[0]
    assert reference.returncode == 0, out
    run_id = out.split()[0]
    expected = json.loads((tmp_path / "reference" / "runs" / run_id / "final.json").read_text())

    killed = tmp_path / "killed"
    checkpoint, done = killed / "runs" / run_id / "checkpoint.pt", killed / "runs" / run_id / "final.json"
    kills = kill_repeatedly(lambda: _evaluate(killed, tmp_path), checkpoint, done, attempts=5, max_delay=0.8)
    assert kills >= 2, "the plane was evaluated too fast to be interrupted; the test proves nothing"

    last = _evaluate(killed, tmp_path)
    out = last.communicate(timeout=300)[0]
    assert last.returncode == 0, out
    assert json.loads(done.read_text()) == expected
    assert len(expected["plane_loss"]) == 24 and expected["agreement_at_teacher"] == 1.0
    assert not checkpoint.exists() and not list(killed.rglob("*.tmp"))
