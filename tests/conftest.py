import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]


def kdfidelity_env(tmp_path: Path, **extra) -> dict:
    "Environment for a `kdfidelity` subprocess: its own settings file, results and data directories under `tmp_path`."
    settings = tmp_path / "settings.ini"
    if not settings.exists():
        settings.write_text(
            "[kdfidelity]\ndata_dir = data\nresults_dir = results\ndevice = cpu\nscale = smoke\n"
            "threads = 1\nworkers = 1\n"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KDFIDELITY_")}
    env.update(KDFIDELITY_SETTINGS=str(settings), MPLBACKEND="Agg", PYTHONUNBUFFERED="1", **extra)
    return env


def python_script(code: str, results: Path, tmp_path: Path) -> subprocess.Popen:
    "Start `python -c CODE RESULTS` in `tmp_path` with `kdfidelity_env`, stdout and stderr together in one text pipe."
    return subprocess.Popen(
        [sys.executable, "-c", code, str(results)],
        cwd=tmp_path,
        env=kdfidelity_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def kdfidelity_command() -> list[str]:
    "The installed console script, as a user runs it."
    path = shutil.which("kdfidelity") or shutil.which("kdfidelity", path=str(Path(sys.executable).parent))
    if path is None:
        pytest.fail("the kdfidelity console script is not installed; run pip install -e .")
    return [path]


def run_cli(args, tmp_path: Path, timeout=300, **extra) -> subprocess.CompletedProcess:
    "Run `kdfidelity ARGS` to completion in `tmp_path`."
    return subprocess.run(
        [*kdfidelity_command(), *args],
        cwd=tmp_path,
        env=kdfidelity_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def cli(tmp_path):
    return lambda *args, **kw: run_cli(list(args), tmp_path, **kw)


def kill_repeatedly(
    start: Callable[[], subprocess.Popen], started: Path, finished: Path, attempts: int, max_delay: float, seed: int = 0
) -> int:
    """Start a process up to `attempts` times, SIGKILL it a random moment (up to `max_delay` s) after `started`
    appears; stop once `finished` exists. The number of kills."""
    rng, kills = random.Random(seed), 0
    for _ in range(attempts):
        proc = start()
        deadline = time.time() + 120
        while proc.poll() is None and not started.exists() and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, max_delay))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate()
        if finished.exists():
            break
    return kills
