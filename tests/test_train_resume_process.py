"""A run interrupted in one process and resumed in another gives exactly the result of an uninterrupted run (CPU)."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

SCRIPT = textwrap.dedent("""
    import json, sys, torch
    import torch.nn as nn
    from kdfidelity.data import load_digits, stratified_subset
    from kdfidelity.models import LeNet5
    from kdfidelity.train import TrainConfig, fit, seeded_init

    mode, checkpoint, out = sys.argv[1], sys.argv[2], sys.argv[3]
    torch.set_num_threads(1)
    train = stratified_subset(load_digits("train"), 320, seed=0)
    test = load_digits("test")
    teacher = seeded_init(LeNet5, 7)
    config = TrainConfig(epochs=4, batch_size=64, lr=0.01, augmentation="rotation", eval_every=2, seed=11)

    def stop(record):
        if mode == "interrupt" and record["epoch"] == 2: sys.exit(3)

    student = seeded_init(lambda: nn.Sequential(nn.Dropout(0.1), LeNet5()), 1)
    result = fit(student, train, config, teacher=teacher, test_data=test, on_epoch=stop,
                 checkpoint_path=None if mode == "straight" else checkpoint, checkpoint_every=1)
    torch.save(result.model.state_dict(), out + ".pt")
    history = [{k: v for k, v in r.items() if k != "seconds"} for r in result.history]
    json.dump(
        {"history": history, "final": result.final, "resumed_from": result.resumed_from}, open(out + ".json", "w")
    )
""")


def _run(tmp_path: Path, mode: str, name: str) -> subprocess.CompletedProcess:
    script = tmp_path / "train_run.py"
    script.write_text(SCRIPT)
    return subprocess.run(
        [sys.executable, str(script), mode, str(tmp_path / "checkpoint.pt"), str(tmp_path / name)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_resume_in_a_new_process_is_exact(tmp_path):
    straight = _run(tmp_path, "straight", "straight")
    assert straight.returncode == 0, straight.stderr
    interrupted = _run(tmp_path, "interrupt", "unused")
    assert interrupted.returncode == 3, interrupted.stderr
    resumed = _run(tmp_path, "resume", "resumed")
    assert resumed.returncode == 0, resumed.stderr

    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("straight", "resumed"))
    assert b["resumed_from"] == 2
    assert a["history"] == b["history"] and a["final"] == b["final"]
    wa, wb = (torch.load(tmp_path / f"{n}.pt", weights_only=True) for n in ("straight", "resumed"))
    assert list(wa) == list(wb) and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary files
