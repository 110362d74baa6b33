"""The `kdfidelity` console script as a user runs it: the smoke-scale Figure 2 end to end, and every bad argument."""

import json
import re
import shutil

import pytest

import subprocess

from conftest import kdfidelity_command, kdfidelity_env, run_cli


def _table(stdout: str) -> str:
    "The printed summary table (what follows the run counts line, up to the figure path)."
    return stdout.split(" already done", 1)[1].split("figure:", 1)[0].strip()


def test_run_fig2_smoke_then_rerun_trains_nothing(tmp_path):
    first = run_cli(["run", "fig2", "--scale", "smoke"], tmp_path)
    assert first.returncode == 0, first.stderr
    trained = int(re.search(r"(\d+) run\(s\) trained now", first.stdout).group(1))
    assert trained > 0
    figure = tmp_path / "results" / "fig2" / "smoke" / "fig2.png"
    assert figure.stat().st_size > 10_000
    assert (tmp_path / "results" / "fig2" / "smoke" / "fig2.csv").exists()
    assert "agreement" in first.stdout

    second = run_cli(["run", "fig2", "fig2_optimizer", "--scale", "smoke"], tmp_path)  # one after the other
    assert second.returncode == 0, second.stderr
    assert "0 run(s) trained now" in second.stdout
    assert f"{trained} already done" in second.stdout
    assert _table(second.stdout) == _table(first.stdout)
    assert re.search(
        r"fig2_optimizer at scale smoke: [1-9]\d* run\(s\) trained now, [1-9]\d* already done", second.stdout
    )
    assert (tmp_path / "results" / "fig2_optimizer" / "smoke" / "fig2_optimizer.png").exists()

    status = run_cli(["status", "fig2", "--scale", "smoke"], tmp_path)
    assert status.returncode == 0 and f"{trained} done, 0 partial, 0 missing" in status.stdout

    replot = run_cli(["plot", "fig2", "--scale", "smoke"], tmp_path)
    assert replot.returncode == 0 and _table("0 already done" + replot.stdout) == _table(first.stdout)


def test_compiled_and_cacheless_runs_match_the_default_run(tmp_path):
    "`run --compile` and `teacher_cache = false` change how a run trains, not what it learns: the same fig2 results."
    import pandas as pd

    frames = {}
    for name, args, env in (
        ("default", [], {}),
        ("compiled", ["--compile"], {}),
        ("live teacher", [], {"KDFIDELITY_TEACHER_CACHE": "false"}),
    ):
        out = run_cli(["--results-dir", name, "run", "fig2", "--scale", "smoke", "--quiet", *args], tmp_path, **env)
        assert out.returncode == 0, out.stderr
        frames[name] = pd.read_csv(tmp_path / name / "fig2" / "smoke" / "fig2.csv")
    assert list((tmp_path / "default" / "teacher_logits").glob("*/logits.pt"))  # students distilled from stored tables
    assert not (tmp_path / "live teacher" / "teacher_logits").exists()
    exact = ["accuracy", "agreement", "teacher_accuracy", "train_agreement"]
    pd.testing.assert_frame_equal(
        frames["live teacher"], frames["default"], check_exact=True
    )  # cached training is bit-identical on the CPU
    pd.testing.assert_frame_equal(frames["compiled"][exact], frames["default"][exact])
    pd.testing.assert_frame_equal(
        frames["compiled"].drop(columns=exact), frames["default"].drop(columns=exact), rtol=1e-4, atol=1e-5
    )


def test_compile_failure_is_one_line_naming_the_way_out(tmp_path):
    """No C++ compiler for Inductor (simulated with CXX and an empty compile cache): exit 2 and one line, not torch's
    traceback."""
    out = run_cli(
        ["run", "fig2", "--scale", "smoke", "--compile", "--quiet"],
        tmp_path,
        CXX=str(tmp_path / "no-such-compiler"),
        TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "inductor-cache"),
    )
    assert out.returncode == 2, out.stderr[-2000:]
    assert (
        out.stderr.count("\n") == 1
        and "compile=True failed on this machine" in out.stderr
        and "--no-compile" in out.stderr
    )
    assert "Traceback" not in out.stderr


def test_list_names_every_experiment_with_run_counts(tmp_path):
    out = run_cli(["list"], tmp_path)
    assert out.returncode == 0, out.stderr
    line = next(l for l in out.stdout.splitlines() if l.startswith("fig2 "))
    assert "Figure 2" in line and re.search(r"smoke \d+ \([\d.]+e\+\d+ FLOP\), cpu \d+ .*, paper \d+ ", line)
    names = {l.split()[0] for l in out.stdout.splitlines()}
    assert {"fig2", "fig2_optimizer", "precision"} <= names  # declared in kdfidelity/paper/, found by the registry


def test_output_piped_into_a_reader_that_has_stopped_ends_quietly(tmp_path):
    "As `kdfidelity list | head -1` when head is gone before the first line: exit 141 (SIGPIPE's), no traceback."
    proc = subprocess.Popen(
        [*kdfidelity_command(), "list"],
        cwd=tmp_path,
        env=kdfidelity_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # the reader is gone before the command has printed anything (it takes a second to start)
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert stderr == "", stderr


def test_a_resumed_run_says_how_much_training_is_left(tmp_path):
    "A grid resumed with runs alike already done (the same run in another trial) is timed by them, in run and status."
    done, resumed = tmp_path / "done", tmp_path / "resumed"
    done.mkdir()
    assert run_cli(["run", "fig2", "--scale", "smoke"], done).returncode == 0
    shutil.copytree(done / "results" / "runs", resumed / "results" / "runs")
    students = [d for d in (resumed / "results" / "runs").iterdir() if '"teachers"' in (d / "spec.json").read_text()]
    shutil.rmtree(students[0])  # one student to train again, with its twins of the other trials done
    status = run_cli(["status", "fig2", "--scale", "smoke"], resumed)
    assert re.search(r"time left: about \d+ (s|min) of training for one worker\n", status.stdout), status.stdout
    rerun = run_cli(["run", "fig2", "--scale", "smoke", "--workers", "1"], resumed)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert re.search(r"fig2 at scale smoke: time left: about \d+ (s|min) of training", rerun.stdout), rerun.stdout
    assert "1 run(s) trained now" in rerun.stdout


def test_status_before_any_run_counts_missing(tmp_path):
    out = run_cli(["status", "fig2", "--scale", "smoke"], tmp_path)
    assert out.returncode == 0 and re.search(r"0 done, 0 partial, [1-9]\d* missing", out.stdout)
    assert "time left: not known until a run like the unfinished ones" in out.stdout  # nothing to time them by


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "fig99"], "unknown experiment 'fig99'; valid experiments are"),
        (["run", "fig2", "fig99"], "unknown experiment 'fig99'"),  # every name is checked before anything trains
        (["run", "fig2", "fig2_optimizer", "--level", "0"], "name a single experiment"),
        (["status", "fig99"], "unknown experiment 'fig99'"),
        (["run", "fig2", "--scale", "huge"], "unknown scale 'huge'; valid scales are smoke, cpu, paper"),
        (["run", "fig2", "--shard", "2/2"], "shard '2/2' is out of range"),
        (["run", "fig2", "--shard", "one/two"], "shard 'one/two' is malformed"),
        (["run", "fig2", "--shard", "1"], "shard '1' is malformed"),
        (["run", "fig2", "--device", "gpu"], "device = 'gpu' is not valid"),
        (["plot", "fig2"], "no finished runs of fig2 at scale smoke"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(tmp_path, args, message):
    out = run_cli(args, tmp_path)
    assert out.returncode == 2 and not (tmp_path / "results" / "runs").exists()  # nothing trained
    assert out.stderr.startswith("kdfidelity: error: ") and message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_unwritable_results_directory(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    out = run_cli(["--results-dir", str(blocker / "results"), "run", "fig2"], tmp_path)
    assert out.returncode == 2 and "is not writable" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_missing_dataset_names_where_it_looked(tmp_path):
    out = run_cli(["--data-dir", str(tmp_path / "nodata"), "run", "fig2", "--scale", "paper"], tmp_path)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "MNIST" in out.stderr and str(tmp_path / "nodata") in out.stderr and "Traceback" not in out.stderr


def test_bad_settings_file_is_one_line(tmp_path):
    (tmp_path / "settings.ini").write_text("[kdfidelity]\nscale = enormous\n")
    out = run_cli(["list"], tmp_path)
    assert out.returncode == 2 and "not one of smoke, cpu, paper" in out.stderr and "Traceback" not in out.stderr


def test_damaged_checkpoint_stops_with_its_name_until_told_to_discard(tmp_path):
    assert run_cli(["run", "fig2", "--scale", "smoke", "--quiet"], tmp_path).returncode == 0
    run_dir = next(
        d
        for d in sorted((tmp_path / "results" / "runs").iterdir())
        if json.loads((d / "spec.json").read_text())["teachers"]
    )  # a student
    (run_dir / "final.json").unlink()
    (run_dir / "checkpoint.pt").write_bytes(b"not a checkpoint")
    refused = run_cli(["run", "fig2", "--scale", "smoke", "--quiet"], tmp_path)
    assert refused.returncode == 2 and str(run_dir / "checkpoint.pt") in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    assert (run_dir / "checkpoint.pt").read_bytes() == b"not a checkpoint"
    fixed = run_cli(["run", "fig2", "--scale", "smoke", "--quiet", "--discard-broken-checkpoints"], tmp_path)
    assert fixed.returncode == 0 and "1 run(s) trained now" in fixed.stdout
    assert (run_dir / "final.json").exists()
