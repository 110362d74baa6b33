"""Section 5.1's grids on files in the real layouts: the OOD pool of each scale, and one line for each kind of bad
input."""

import warnings

import pytest

from conftest import run_cli
from datasets import write_cifar10_test, write_cifar100, write_mnist


def test_paper_grid_has_the_same_run_ids_with_and_without_svhn(tmp_path):
    "The OOD pool belongs to the scale, not to the disk: two machines, one with an SVHN folder, build the same grid."
    machines = {name: tmp_path / name for name in ("without", "with")}
    for machine in machines.values():
        machine.mkdir()
        write_cifar100(machine / "data", n_train=200, n_test=100)
        write_cifar10_test(machine / "data", n_test=100)
    # torchvision checks SVHN's file against its published checksum, so no generated copy loads; its presence is
    # what an OOD pool chosen by what is on disk would have looked at
    (machines["with"] / "data" / "SVHN").mkdir()
    (machines["with"] / "data" / "SVHN" / "train_32x32.mat").write_bytes(b"placeholder")
    outs = {name: run_cli(["status", "fig3", "--scale", "paper"], machine) for name, machine in machines.items()}
    assert all(out.returncode == 0 and out.stderr == "" for out in outs.values()), outs
    assert outs["without"].stdout == outs["with"].stdout and " missing" in outs["with"].stdout

    from kdfidelity.experiments import get_experiment
    from kdfidelity.specs import DataSpec, missing_data
    from kdfidelity.workspace import Workspace

    ood = [pt.spec for pt in get_experiment("fig3").points("paper") if pt.tags.get("policy") == "ood"]
    assert ood and all(spec.data[1] == DataSpec("svhn", "train", size=10_000) for spec in ood)
    without = Workspace(machines["without"] / "data", machines["without"] / "results")
    assert "svhn" in missing_data(ood[0], without)  # where SVHN is missing, the runner skips the point, saying why
    cpu = [pt.spec for pt in get_experiment("fig3").points("cpu") if pt.tags.get("policy") == "ood"]
    # cpu names its own pool: images of the superclasses its ten classes do not come from
    assert {spec.data[1] for spec in cpu} == {
        DataSpec("cifar100", "train", size=1000, classes=10, image_size=16, other_classes=True)
    }


def test_missing_cifar100_is_one_line_naming_the_folder_and_allow_download(tmp_path):
    out = run_cli(["run", "fig3", "--scale", "cpu"], tmp_path)
    assert out.returncode == 2
    assert (
        out.stderr.startswith("kdfidelity: error: no run of fig3 at scale cpu can start: cifar100")
        and out.stderr.count("\n") == 1
    )
    assert str(tmp_path / "data" / "cifar-100-python") in out.stderr and "allow_download" in out.stderr


def test_a_bad_ood_pool_fails_its_runs_in_one_line_and_the_grid_goes_on(tmp_path, monkeypatch):
    """A pool whose images are not CIFAR's shape (MNIST's 1 x 28 x 28): the OOD students fail with one line, the
    others run."""
    import kdfidelity.paper.sec5_1 as sec5_1
    from kdfidelity.cli import main
    from kdfidelity.experiments import EXPERIMENTS, experiment

    data = tmp_path / "data"
    write_cifar100(data, n_train=100, n_test=100)
    write_mnist(data, n_train=60, n_test=10)
    small = dict(
        sec5_1.sec5_1_presets("cpu"),
        data_options={},
        train_size=100,
        test_size=100,
        member_epochs=1,
        student_epochs=1,
        trials=2,
        ensemble_sizes=(1,),
        eval_every=None,
        ood_pool=dict(name="mnist", split="train", size=20),
    )
    monkeypatch.setattr(sec5_1, "sec5_1_presets", lambda scale: small)
    settings = tmp_path / "settings.ini"
    settings.write_text(
        "[kdfidelity]\ndata_dir = data\nresults_dir = results\ndevice = cpu\nthreads = 1\nworkers = 1\n"
    )
    monkeypatch.setenv("KDFIDELITY_SETTINGS", str(settings))
    experiment("_bad_pool", "test only")(lambda scale: sec5_1.sec5_1_points(scale, policies=["baseline_tau4", "ood"]))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small files: not the published sizes and statistics
            status = main(["run", "_bad_pool", "--scale", "cpu", "--quiet"])
    finally:
        del EXPERIMENTS["_bad_pool"]
    assert status == 1
    from kdfidelity.store import ResultsStore

    store = ResultsStore(tmp_path / "results")
    done = [p for p in sec5_1.sec5_1_points("cpu", policies=["baseline_tau4", "ood"]) if store.is_done(p.spec)]
    assert sorted(p.tags.get("policy", "member") for p in done) == [
        "baseline_tau4",
        "baseline_tau4",
        "member",
        "member",
    ]
