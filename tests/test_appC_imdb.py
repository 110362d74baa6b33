"""Appendix C from the command line: bad input is one line (a missing aclImdb, reviews without their label folders,
a network of the wrong kind of data), and the IMDB grid trains end to end on toy reviews."""

import os
import warnings

import pytest

from conftest import run_cli


def one_line_about(output: str, *needles: str) -> str:
    "The single line of `output` that names every needle; fails if there is none or a traceback."
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if all(n in line for n in needles)]
    assert len(lines) == 1, output
    return lines[0]


def error_line(result) -> str:
    "The one line a failed command wrote to stderr."
    assert result.returncode != 0 and "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr.strip()


def test_a_missing_aclimdb_is_one_line(tmp_path):
    result = run_cli(["run", "imdb", "--scale", "smoke", "--workers", "1"], tmp_path)
    line = error_line(result)
    assert "imdb (train split) not found" in line and "aclImdb" in line and "extract the archive" in line


def test_reviews_without_label_folders_are_one_line(tmp_path):
    reviews = tmp_path / "data" / "aclImdb" / "train"
    reviews.mkdir(parents=True)
    (reviews / "0_9.txt").write_text("a review with no pos or neg folder around it")
    result = run_cli(["run", "imdb", "--scale", "smoke", "--workers", "1"], tmp_path)
    assert "missing: train/neg, train/pos" in error_line(result)


def test_the_imdb_grid_trains_on_toy_reviews(tmp_path):
    from kdfidelity.paper.appC_imdb import write_toy_imdb

    write_toy_imdb(tmp_path / "data")
    result = run_cli(["run", "imdb", "--scale", "smoke", "--workers", "1"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    status = run_cli(["status", "imdb", "--scale", "smoke"], tmp_path)
    assert "imdb at scale smoke: 8 done, 0 partial, 0 missing" in status.stdout, status.stdout + status.stderr
    assert (tmp_path / "results" / "imdb" / "smoke" / "imdb.png").is_file()


@pytest.fixture
def smoke_settings(tmp_path, monkeypatch):
    settings = tmp_path / "settings.ini"
    settings.write_text("[kdfidelity]\ndata_dir = data\nresults_dir = results\ndevice = cpu\nscale = smoke\n")
    for key in [k for k in os.environ if k.startswith("KDFIDELITY_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("KDFIDELITY_SETTINGS", str(settings))
    return tmp_path


@pytest.mark.parametrize(
    "model, options, data, expected",
    [
        ("lstm", dict(vocab_size=30), "digits", "model 'lstm' reads token ids, but digits holds images"),
        ("preresnet8", dict(in_channels=1), "imdb", "model 'preresnet8' reads images, but imdb holds text"),
        ("vgg16", dict(in_channels=1, image_size=28, width=0.25), "imdb", "model 'vgg16' reads images, but imdb holds"),
    ],
)
def test_a_network_of_the_other_kind_of_data_is_refused_in_one_line(
    smoke_settings, capsys, model, options, data, expected
):
    "The run is refused when the grid is declared, before any data is read or any run of the grid is trained."
    from kdfidelity.cli import main
    from kdfidelity.experiments import EXPERIMENTS, GridPoint, experiment
    from kdfidelity.runs import RunSpec
    from kdfidelity.specs import DataSpec
    from kdfidelity.train import TrainConfig

    config = TrainConfig(epochs=1, batch_size=16, augmentation="none", optimizer="adam", lr=1e-3)
    experiment("_wrong_kind", "test only")(
        lambda scale: [GridPoint(RunSpec(model, (DataSpec(data),), DataSpec(data, "test"), config, options), {})]
    )
    try:
        status = main(["run", "_wrong_kind", "--workers", "1"])
    finally:
        del EXPERIMENTS["_wrong_kind"]
    assert status == 2
    captured = capsys.readouterr()
    assert "kdfidelity: error: " in one_line_about(captured.out + captured.err, expected)
    assert not list((smoke_settings / "results").glob("runs/*"))  # nothing trained
