"""Figure 5 is drawn from other experiments' runs and trains none of its own; Figure 4's grid reruns as a no-op."""

from pathlib import Path

from conftest import run_cli


def _run_dirs(results: Path) -> set[str]:
    return {d.name for d in (results / "runs").iterdir()} if (results / "runs").exists() else set()


def test_fig5_trains_nothing_and_says_what_is_missing(tmp_path):
    listed = run_cli(["list"], tmp_path)
    assert "[trains nothing: drawn from fig1, fig4, fig5_augmentation]" in listed.stdout, listed.stdout + listed.stderr

    status = run_cli(["status", "fig5"], tmp_path)
    assert status.returncode == 0, status.stderr
    assert "fig5 at scale smoke: 0 done, 0 partial, " in status.stdout
    assert "drawn from fig1, fig4, fig5_augmentation" in status.stdout and "not registered" not in status.stdout, (
        status.stdout
    )

    empty = run_cli(["plot", "fig5"], tmp_path)
    assert empty.returncode == 2 and empty.stderr.count("\n") == 1, empty.stdout + empty.stderr
    assert "no finished runs of fig1, fig4, fig5_augmentation (which fig5 is drawn from) at scale smoke" in empty.stderr

    first = run_cli(["run", "fig4"], tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "fig4 at scale smoke: 30 run(s) trained now, 0 already done" in first.stdout
    again = run_cli(["run", "fig4"], tmp_path)
    assert "fig4 at scale smoke: 0 run(s) trained now, 30 already done" in again.stdout, again.stdout + again.stderr

    before = _run_dirs(tmp_path / "results")
    fig5 = run_cli(["run", "fig5"], tmp_path)
    assert fig5.returncode == 0, fig5.stdout + fig5.stderr
    assert (
        "fig5 trains nothing of its own: it is drawn from the results of fig1, fig4, fig5_augmentation" in fig5.stdout
    )
    assert "fig5 at scale smoke: 0 run(s) trained now, 0 already done" in fig5.stdout
    assert _run_dirs(tmp_path / "results") == before  # not one run added, not even a claim
    out = tmp_path / "results" / "fig5" / "smoke"
    assert (out / "fig5.png").stat().st_size > 10_000
    table = (out / "fig5.csv").read_text()
    assert "fig4" in table and "fig5_augmentation" not in table  # Section 5.1's runs have not been made here
    status = run_cli(["status", "fig5"], tmp_path)
    # to go: Section 5.1's 4 members and 12 students (six policies), the GAN they share with fig1, and fig1's 6 students
    # and 2 equal-steps controls
    assert "fig5 at scale smoke: 30 done, 0 partial, 25 missing" in status.stdout, status.stdout
