"""A smaller task end to end: a class subset at a smaller image size (the `cpu` scale's kind of task, here on the
bundled digits) goes from spec through a teacher, a GAN and its samples, a student distilled on real and synthetic
images, and a loss plane into the results; killed with SIGKILL again and again, the runs resume to the values of an
uninterrupted run."""

import json
import subprocess
from pathlib import Path

from conftest import kill_repeatedly, python_script

# Four digit classes drawn with class seed 3, average-pooled to 14 x 14 (crop padding scaled to 2 pixels).
_TASK = """
import dataclasses, sys, torch
from kdfidelity.data import choose_classes
from kdfidelity.gan import GanConfig
from kdfidelity.gan_runs import GanSpec, SampleSpec
from kdfidelity.plane_runs import PlaneSpec
from kdfidelity.runs import RunSpec, load_model
from kdfidelity.specs import DataSpec, run_spec
from kdfidelity.train import TrainConfig
from kdfidelity.workspace import Workspace
task = dict(classes=4, image_size=14, class_seed=3)
train, test = DataSpec("digits", **task), DataSpec("digits", "test", **task)
config = TrainConfig(epochs=3, batch_size=32, eval_every=1)
net = dict(in_channels=1, norm="layer")
teacher = RunSpec("preresnet8", (train,), test, config, net, seed=1)
gan = GanSpec(train, GanConfig(iterations=6, batch_size=16, g_width=16, d_width=16, log_every=2))
samples = SampleSpec(gan, 96)
student_config = dataclasses.replace(config, epochs=4, tau=4.0)
student = RunSpec("preresnet8", (train, samples), test, student_config, net, teachers=(teacher,), seed=2)
plane = PlaneSpec(student, points=4, examples=40)
ws = Workspace.from_settings(results_dir=sys.argv[1], progress=False)
for spec in (teacher, gan, student, plane):
    run_spec(spec, ws)
images = test.load(ws)
assert images.image_shape == (1, 14, 14) and images.num_classes == 4, images
assert load_model(student, ws)(torch.zeros(2, 1, 14, 14)).shape == (2, 4)
print(json.dumps({"classes": choose_classes("digits", 4, 3), "test_size": len(images),
                  "ids": [s.run_id for s in (teacher, gan, student, plane)]}), flush=True)
""".replace("import dataclasses, sys, torch", "import dataclasses, json, sys, torch")


def _run(results: Path, tmp_path: Path) -> subprocess.Popen:
    return python_script(_TASK, results, tmp_path)


def _finals(results: Path, ids: list[str]) -> list[dict]:
    return [json.loads((results / "runs" / run_id / "final.json").read_text()) for run_id in ids]


def test_class_subset_at_a_smaller_size_runs_end_to_end_and_resumes_after_sigkill(tmp_path):
    reference = _run(tmp_path / "reference", tmp_path)
    out = reference.communicate(timeout=600)[0]
    assert reference.returncode == 0, out
    info = json.loads(out.strip().splitlines()[-1])
    assert len(info["classes"]) == 4 and info["test_size"] < 359  # four of the ten digit classes, test split too
    teacher, _, student, plane = expected = _finals(tmp_path / "reference", info["ids"])
    assert 0 <= student["agreement"] <= 1 and 0 <= teacher["accuracy"] <= 1
    assert plane["agreement_at_teacher"] == 1.0

    killed = tmp_path / "killed"
    kills = kill_repeatedly(
        lambda: _run(killed, tmp_path),
        killed / "runs",
        killed / "runs" / info["ids"][-1] / "final.json",
        attempts=8,
        max_delay=2.0,
    )
    assert kills >= 2, "the task ran too fast to be interrupted; the test proves nothing"
    last = _run(killed, tmp_path)
    out = last.communicate(timeout=600)[0]
    assert last.returncode == 0, out
    assert _finals(killed, info["ids"]) == expected
    assert not list(killed.rglob("*.tmp")) and not list(killed.rglob("checkpoint.pt"))
