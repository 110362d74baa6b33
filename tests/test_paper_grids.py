"""The paper's grids at `paper` scale, end to end, on small files generated in torchvision's layout."""

import warnings

import pytest

from datasets import write_emnist, write_mnist


@pytest.fixture
def default_settings(tmp_path, monkeypatch):
    "A settings file naming only the directories, device and scale: every speed switch keeps its default."
    settings = tmp_path / "settings.ini"
    settings.write_text("[kdfidelity]\ndata_dir = data\nresults_dir = results\ndevice = cpu\nscale = paper\n")
    for key in [k for k in __import__("os").environ if k.startswith("KDFIDELITY_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("KDFIDELITY_SETTINGS", str(settings))
    return tmp_path


def test_fig2_paper_grid_runs_with_emnist_points_and_default_settings(default_settings, monkeypatch):
    "MNIST + EMNIST has 62 classes but Figure 2's teacher gives 10 logits: the stored teacher table must be 10 wide."
    from kdfidelity.data import TRAIN_SIZES
    from kdfidelity.results import load_results
    from kdfidelity.runner import run_experiment
    from kdfidelity.workspace import Workspace, speed_from_settings

    data = default_settings / "data"
    write_mnist(data, n_train=300, n_test=100)
    write_emnist(data, n_train=400, n_test=40)
    monkeypatch.setitem(TRAIN_SIZES, "emnist", 400)  # 25%, 50% and 100% of the generated EMNIST
    assert speed_from_settings().teacher_cache  # the default: distil from stored teacher logits where worthwhile
    lines = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small files: not the published sizes and statistics
        report = run_experiment("fig2", "paper", Workspace.from_settings(progress=False), log=lines.append)
    assert report.failed == [] and report.skipped == [], "\n".join(lines)
    assert len(report.trained) == 15  # 3 teachers, 4 students each
    results = load_results("fig2", "paper")
    students = results[results.role == "student"]
    assert sorted(students.distill_size.unique()) == [60_000, 60_100, 60_200, 60_400]  # MNIST counted at its full size
    assert students.agreement.between(0, 1).all()
    tables = list((default_settings / "results" / "teacher_logits").glob("*/logits.pt"))
    assert len(tables) == 12  # one per teacher and distillation set


def test_a_failing_run_is_one_line_and_the_rest_of_the_grid_goes_on(default_settings, monkeypatch):
    "A student whose teacher's output size it cannot match fails alone; the command exits 1 with a summary."
    from kdfidelity.cli import main
    from kdfidelity.experiments import EXPERIMENTS, GridPoint, experiment
    from kdfidelity.runs import RunSpec
    from kdfidelity.specs import DataSpec
    from kdfidelity.train import TrainConfig

    write_mnist(default_settings / "data", n_train=100, n_test=20)
    write_emnist(default_settings / "data", 100, 20)
    config = TrainConfig(epochs=1, batch_size=50, augmentation="none", optimizer="adam", lr=1e-3)
    teacher = RunSpec("lenet5", (DataSpec("mnist"),), DataSpec("mnist", "test"), config)
    good = RunSpec("lenet5", (DataSpec("mnist"),), DataSpec("mnist", "test"), config, teachers=(teacher,), seed=1)
    bad = RunSpec("lenet5", (DataSpec("emnist"),), DataSpec("emnist", "test"), config, teachers=(teacher,), seed=2)
    experiment("_one_bad", "test only")(
        lambda scale: [GridPoint(s, dict(trial=0, which=w)) for s, w in ((teacher, "t"), (bad, "bad"), (good, "good"))]
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            status = main(["run", "_one_bad", "--quiet"])
    finally:
        del EXPERIMENTS["_one_bad"]
    assert status == 1
    from kdfidelity.store import ResultsStore

    store = ResultsStore(default_settings / "results")
    assert store.is_done(teacher) and store.is_done(good) and not store.is_done(bad)
