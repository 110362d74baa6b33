"""Section 5.1's grids on files in the real layouts: the OOD pool's fallback, and one line for each kind of bad input."""
import warnings

import pytest

from conftest import run_cli
from datasets import write_cifar10_test, write_cifar100, write_mnist


def test_ood_pool_falls_back_to_cifar10_test_and_says_so(tmp_path):
    "No SVHN but a CIFAR-10 test split (the layout of ../shared/data): the pool is CIFAR-10's test images, with a warning."
    write_cifar100(tmp_path / "data", n_train=200, n_test=100); write_cifar10_test(tmp_path / "data", n_test=1000)
    out = run_cli(["status", "fig3", "--scale", "cpu"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "kdfidelity: warning: svhn is not in the data folder, so the OOD pool is cifar10/test[1000] instead" in out.stderr
    assert all(line.startswith("kdfidelity: warning: ") for line in out.stderr.splitlines())  # one line each, no source lines

    from kdfidelity.experiments import DataSpec
    from kdfidelity.paper.sec5_1 import ood_pool, sec5_1_student
    with pytest.warns(UserWarning, match="the OOD pool is cifar10/test"):
        assert ood_pool("paper", tmp_path / "data") == DataSpec("cifar10", "test", size=10_000)
    assert ood_pool("paper", tmp_path / "nothing") == DataSpec("svhn", "train", size=10_000)  # on disk nowhere: SVHN, skipped
    assert sec5_1_student("paper", 0, "ood", 5, tmp_path / "nothing").data[1].name == "svhn"


def test_missing_cifar100_is_one_line_naming_the_folder_and_allow_download(tmp_path):
    out = run_cli(["run", "fig3", "--scale", "cpu"], tmp_path)
    assert out.returncode == 2
    assert out.stderr.startswith("kdfidelity: error: no run of fig3 at scale cpu can start: cifar100") and out.stderr.count("\n") == 1
    assert str(tmp_path / "data" / "cifar-100-python") in out.stderr and "allow_download" in out.stderr


def test_a_bad_ood_pool_fails_its_runs_in_one_line_and_the_grid_goes_on(tmp_path, monkeypatch):
    "A pool whose images are not CIFAR's shape (MNIST's 1 x 28 x 28): the OOD students fail with one line, the others run."
    import kdfidelity.paper.sec5_1 as sec5_1
    from kdfidelity.cli import main
    from kdfidelity.experiments import EXPERIMENTS, experiment
    data = tmp_path / "data"
    write_cifar100(data, n_train=100, n_test=100); write_mnist(data, n_train=60, n_test=10)
    small = dict(sec5_1.sec5_1_presets("cpu"), train_size=100, test_size=100, member_epochs=1, student_epochs=1, trials=2,
                 ensemble_sizes=(1,), ood_pools=[("mnist", "train", 20)])
    monkeypatch.setattr(sec5_1, "sec5_1_presets", lambda scale: small)
    settings = tmp_path / "settings.ini"
    settings.write_text("[kdfidelity]\ndata_dir = data\nresults_dir = results\ndevice = cpu\nthreads = 1\nworkers = 1\n")
    monkeypatch.setenv("KDFIDELITY_SETTINGS", str(settings))
    experiment("_bad_pool", "test only")(lambda scale, data_dir=None: sec5_1.sec5_1_points(
        scale, data_dir, policies=["baseline_tau4", "ood"]))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small files: not the published sizes and statistics
            status = main(["run", "_bad_pool", "--scale", "cpu", "--quiet"])
    finally:
        del EXPERIMENTS["_bad_pool"]
    assert status == 1
    from kdfidelity.experiments import ResultsStore
    store = ResultsStore(tmp_path / "results")
    done = [p for p in sec5_1.sec5_1_points("cpu", data, policies=["baseline_tau4", "ood"]) if store.is_done(p.spec)]
    assert sorted(p.tags.get("policy", "member") for p in done) == ["baseline_tau4", "baseline_tau4", "member", "member"]
