"""The speed benchmark runs end to end on a tiny setting and reports both loops side by side (speed itself is not asserted)."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_reports_reference_and_kdfidelity(tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "distill_step.py"), "--workloads", "lenet5-t1",
                          "--repeats", "1", "--min-repeats", "1", "--steps", "2", "--precision", "fp32", "--threads", "2",
                          "--workers", "0", "--no-channels-last", "--device", "cpu", "--out", str(out), "--quiet"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    rows = json.loads(out.read_text())["rows"]
    assert {r["impl"] for r in rows} == {"kdfidelity", "reference"}
    assert all(r["images_per_s"] > 0 for r in rows), rows
    kdfidelity = {r["option"]: r for r in rows if r["impl"] == "kdfidelity"}
    assert set(kdfidelity) == {"default", "cached", "eager"}, kdfidelity  # compiled by default; eager is the option row
    assert kdfidelity["default"]["compiled"] and not kdfidelity["eager"]["compiled"]
