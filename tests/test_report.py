"""`kdfidelity report TEACHER STUDENT`: networks from files and from the results store, every bad input as one line,
files read as data (never code), and the HTML page self-contained and whole in headless Chromium."""

import json
import re
from pathlib import Path

import pytest
import torch

from conftest import kdfidelity_env, run_cli
from kdfidelity.cli import main
from kdfidelity.models import build_model
from kdfidelity.runs import RunSpec
from kdfidelity.specs import DataSpec
from kdfidelity.train import TrainConfig
from test_docs import browser, chromium  # noqa: F401 (the docs tests' headless Chromium, a fixture)


def _lenet(path: Path, seed: int, num_classes: int = 10) -> Path:
    torch.manual_seed(seed)
    torch.save(build_model("lenet5", num_classes).state_dict(), path)
    return path


@pytest.fixture
def lenets(tmp_path):
    "State-dict files of two LeNet-5s with different random weights, and a copy of the first."
    a, b = _lenet(tmp_path / "a.pt", 0), _lenet(tmp_path / "b.pt", 1)
    copy = _lenet(tmp_path / "copy.pt", 0)
    return a, b, copy


def _row(stdout: str, name: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith(name))


def test_report_of_state_dict_files_prints_tables_and_writes_the_page(tmp_path, lenets):
    a, b, copy = lenets
    out = run_cli(["report", "a.pt", "b.pt", "--data", "digits/test", "--model", "lenet5", "--out", "rep"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Generalisation" in out.stdout and "Fidelity to teacher a" in out.stdout
    assert (tmp_path / "rep" / "report.png").stat().st_size > 20_000
    page = (tmp_path / "rep" / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 1 and "<script" not in page
    assert not re.findall(r'(?:src|href)="(?!data:)', page), "the page refers to files or the network"
    for table in ("Generalisation", "Fidelity to teacher a", "Agreement by teacher confidence", "Agreement by class"):
        assert table in page

    same = run_cli(
        ["report", "a.pt", "copy.pt", "--data", "digits", "--model", "lenet5", "--bootstrap", "50"], tmp_path
    )
    assert same.returncode == 0, same.stderr
    assert "1.0000 [1.0000, 1.0000]" in _row(same.stdout, "student copy")  # agreement 1, and its interval
    assert "0.0000 [0.0000, 0.0000]" in _row(same.stdout, "student copy")  # KL 0
    assert (tmp_path / "fidelity-a-vs-copy" / "report.html").is_file()


def _store_run(results: Path, seed: int, teachers=()) -> RunSpec:
    "A finished run of LeNet-5 on the digits in a results store: its spec, its (random) weights, its final.json."
    spec = RunSpec(
        model="lenet5",
        data=(DataSpec("digits"),),
        test=DataSpec("digits", "test"),
        train=TrainConfig(epochs=1),
        teachers=tuple(teachers),
        seed=seed,
    )
    run_dir = results / "runs" / spec.run_id
    run_dir.mkdir(parents=True)
    (run_dir / "spec.json").write_text(json.dumps(spec.to_dict()))
    torch.manual_seed(seed)
    torch.save(build_model("lenet5", 10).state_dict(), run_dir / "model.pt")
    (run_dir / "final.json").write_text("{}")
    return spec


def test_report_of_store_runs_uses_their_test_set_and_a_baseline(tmp_path):
    results = tmp_path / "results"
    teacher = _store_run(results, 0)
    student, other = _store_run(results, 1, [teacher]), _store_run(results, 2)
    out = run_cli(["report", teacher.run_id, student.run_id, "--baseline", other.run_id, "--bootstrap", "50"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "digits/test" in (tmp_path / f"fidelity-{teacher.run_id}-vs-{student.run_id}" / "report.html").read_text()
    assert _row(out.stdout, f"baseline {other.run_id}")
    ensemble = f"{teacher.run_id}+{other.run_id}"
    out = run_cli(["report", ensemble, student.run_id, "--data", "digits/train", "--bootstrap", "0"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"Fidelity to teacher {ensemble}" in out.stdout


class Payload:
    "A pickled object that creates a file when unpickled: what loading an untrusted whole module can do."

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def call(tmp_path, monkeypatch, capsys):
    "`kdfidelity ARGS` in this process (as `run_cli` runs it, in `tmp_path` with its settings): quicker for errors."
    for key, value in kdfidelity_env(tmp_path).items():
        if key.startswith("KDFIDELITY_"):
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)

    def run(args):
        capsys.readouterr()
        status = main(args)
        out, err = capsys.readouterr()
        return Result(status, out, err)

    return run


def _one_line_error(out, *phrases):
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kdfidelity: error: "), out.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def test_a_pickled_file_is_not_run_without_the_opt_in(tmp_path, lenets, call):
    marker = tmp_path / "code-ran"
    torch.save(Payload(marker), tmp_path / "evil.pt")
    out = call(["report", "evil.pt", "a.pt", "--data", "digits", "--model", "lenet5"])
    _one_line_error(out, "evil.pt is not a plain state dict", "--trust-pickled-module")
    assert not marker.exists()

    torch.save(build_model("lenet5", 10), tmp_path / "whole.pt")
    refused = call(["report", "whole.pt", "a.pt", "--data", "digits", "--model", "lenet5"])
    _one_line_error(refused, "--trust-pickled-module")
    trusted = ["report", "whole.pt", "a.pt", "--data", "digits", "--model", "lenet5", "--trust-pickled-module"]
    assert call([*trusted, "--bootstrap", "0"]).returncode == 0


@pytest.mark.parametrize(
    "args, phrases",
    [
        (["a.pt", "b.pt", "--model", "lenet5"], ["--data NAME[/split] is needed"]),
        (["a.pt", "b.pt", "--data", "nosuch", "--model", "lenet5"], ["unknown dataset 'nosuch'"]),
        (["a.pt", "b.pt", "--data", "digits/val", "--model", "lenet5"], ["no split 'val'"]),
        (["a.pt", "missing.pt", "--data", "digits", "--model", "lenet5"], ["'missing.pt' is neither"]),
        (["a.pt", "b.pt", "--data", "digits"], ["name its model"]),
        (["a.pt", "b.pt", "--data", "digits", "--model", "preresnet8"], ["a.pt does not load into preresnet8"]),
        (["a.pt", "b.pt", "--data", "digits", "--model", "nosuchnet"], ["unknown model 'nosuchnet'"]),
        (["a.pt", "three.pt", "--data", "digits", "--model", "lenet5"], ["three.pt does not load into lenet5"]),
        (["a.pt", "b.pt", "--data", "digits", "--model", "lenet5", "--bootstrap", "-1"], ["--bootstrap -1"]),
        (["a.pt", "b.pt", "--data", "digits", "--model", "lenet5", "--batch-size", "0"], ["--batch-size 0"]),
        (["a.pt", "text.pt", "--data", "digits", "--model", "lenet5"], ["not a state dict of tensors"]),
    ],
)
def test_bad_input_is_one_line(tmp_path, lenets, call, args, phrases):
    _lenet(tmp_path / "three.pt", 2, num_classes=3)
    torch.save({"note": "hello"}, tmp_path / "text.pt")
    _one_line_error(call(["report", *args]), *phrases)


def test_networks_that_cannot_be_compared_are_one_line(tmp_path, lenets, call):
    torch.manual_seed(0)
    torch.save(build_model("lenet5", 3), tmp_path / "three-classes.pt")
    torch.save(build_model("preresnet8", 10), tmp_path / "colour.pt")
    base = ["--data", "digits", "--model", "lenet5", "--trust-pickled-module"]
    _one_line_error(call(["report", "a.pt", "three-classes.pt", *base]), "different numbers of classes")
    _one_line_error(call(["report", "colour.pt", "a.pt", *base]), "the teacher does not accept the inputs of digits")


def test_the_page_opens_in_chromium_with_every_figure(tmp_path, lenets, browser):  # noqa: F811
    out = run_cli(["report", "a.pt", "b.pt", "--data", "digits", "--model", "lenet5", "--out", "rep"], tmp_path)
    assert out.returncode == 0, out.stderr
    page = browser.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    requested = []
    page.on("request", lambda r: r.url.startswith(("http", "ftp")) and requested.append(r.url))
    page.goto((tmp_path / "rep" / "report.html").as_uri(), wait_until="load")
    assert not problems and not requested, (problems, requested)
    images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
    assert images and all(complete and width > 500 for complete, width in images), images
    assert page.locator("table").count() == 4
    page.close()
