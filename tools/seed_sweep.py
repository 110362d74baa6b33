#!/usr/bin/env python
"""Run notebooks' tests under many seeds, to find training tests that pass only on a lucky trajectory.

DESIGN.md: "A test that trains a network passes for any seed and on any CPU (with or without bf16 hardware): it
asserts with margins that hold, not on one lucky trajectory." `nbdev-test` runs each notebook once, with one seed,
on one machine, so it cannot tell a sound margin from a lucky one. Notebooks that train take their seed from the
environment (`TEST_SEED = int(os.environ.get("KDFIDELITY_TEST_SEED", "0"))`, then `torch.manual_seed(TEST_SEED + k)`
in each test cell); this tool runs each notebook once per seed, at `KDFIDELITY_SCALE=smoke`, the way `nbdev-test`
does (execnb's `CaptureShell`, the cells nbdev-test runs: not `#| notest` or `#| slow` (the config's `tst_flags`) nor
`#| eval: false`, in the notebook's folder, with `IN_TEST=1`), but runs every cell even after one fails, and reports
each cell that raised. Run it on a CPU with bf16 hardware (AVX512-BF16 or AMX) and on one without; the header says
which this one is. It is slow (whole notebooks, many times) and not part of CI.

Usage:
    python tools/seed_sweep.py [NOTEBOOK ...] [--seeds 0-9] [--jobs N] [--flags "slow"]

NOTEBOOK defaults to nbs/06_train.ipynb nbs/1[1-7]_*.ipynb nbs/paper/*.ipynb; `--seeds` takes ranges and
lists (`0-9`, `0,3,5-7`); `--jobs` runs that many notebook-seed pairs at once (each in its own process, with
OMP_NUM_THREADS set to share the cores unless it is set already). It prints one line per notebook and seed (pass, or
the failing cells: index as in the notebook's cell list counting markdown cells, first line, exception's last line),
then a summary per failing cell across seeds, and exits 1 if any cell failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_NOTEBOOKS = ["nbs/06_train.ipynb", "nbs/1[1-7]_*.ipynb", "nbs/paper/*.ipynb"]


def parse_seeds(text: str) -> list[int]:
    "`0-9`, `3`, `0,3,5-7` -> the seeds, in order, each once."
    seeds = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        lo, _, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi or lo)
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad seeds {text!r}: use e.g. 0-9 or 0,3,5-7") from None
        if first > last or first < 0:
            raise argparse.ArgumentTypeError(f"bad seed range {part!r} in {text!r}")
        seeds += [s for s in range(first, last + 1) if s not in seeds]
    if not seeds:
        raise argparse.ArgumentTypeError(f"no seeds in {text!r}")
    return seeds


def find_notebooks(patterns: list[str]) -> list[Path]:
    "Notebook paths from paths or globs (relative to the current folder; the defaults relative to the repository)."
    found = []
    for pattern in patterns or DEFAULT_NOTEBOOKS:
        base = Path.cwd() if patterns else ROOT
        hits = sorted(base.glob(pattern)) if any(ch in pattern for ch in "*?[") else [base / pattern]
        if not hits or not all(p.is_file() for p in hits):
            sys.exit(f"seed_sweep: no notebook at {pattern!r}")
        found += [p.resolve() for p in hits if p.resolve() not in found]
    return found


def first_line(source: str) -> str:
    "The cell's first line that says something: not blank, not an nbdev `#|` directive."
    lines = [ln.strip() for ln in source.splitlines()]
    return next((ln for ln in lines if ln and not ln.startswith("#|")), lines[0] if lines else "")


def last_line(e: BaseException) -> str:
    "The traceback's last entry, `Type: message`, on one line; a timeout's first line only (its code follows)."
    if isinstance(e, TimeoutError) and str(e).startswith("Timed out"):
        return f"TimeoutError: {str(e).splitlines()[0]}"
    return " | ".join(filter(None, (ln.strip() for ln in traceback.format_exception_only(type(e), e)[-1].splitlines())))


def worker(notebook: Path, out: Path, force_flags: str) -> None:
    "Run `notebook` as nbdev-test does, every cell even after failures; keep `out` up to date with the failing cells."
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.process import NBProcessor
    from nbdev.test import nb_test_cells

    cfg = get_config(notebook.parent)
    skip_flags = cfg.tst_flags.split() if isinstance(cfg.tst_flags, str) else list(cfg.tst_flags or [])
    to_run = {c.idx_ for c in nb_test_cells(notebook, skip_flags, force_flags.split())}
    nb = NBProcessor(notebook, rm_directives=False, process=True).nb
    sys.path.insert(0, str(cfg.config_path))
    os.environ["IN_TEST"] = "1"
    state = dict(failures=[], running=None)  # `running`: the cell under way, for a process that dies inside one
    save = lambda: out.write_text(json.dumps(state))
    shell = CaptureShell(notebook, profile=bool(cfg.exec_profile))

    def skip(cell):
        if cell.idx_ not in to_run:
            return True
        state["running"] = dict(cell=cell.idx_, first_line=first_line(cell.source))
        save()
        return False

    def record(cell):
        if shell.exc is not None:
            state["failures"].append({**state["running"], "error": last_line(shell.exc)})
        state["running"] = None
        save()

    with working_directory(notebook.parent):
        shell.run_all(nb, exc_stop=False, preproc=skip, postproc=record, cell_timeout=cfg.cell_timeout or None)
    state["finished"] = True
    save()


def run_one(notebook: Path, seed: int, jobs: int, force_flags: str) -> dict:
    "Run `notebook` at `seed` in a fresh process; its failing cells (a process that dies counts as a failure)."
    env = dict(os.environ, KDFIDELITY_SCALE="smoke", KDFIDELITY_TEST_SEED=str(seed))
    if jobs > 1 and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // jobs))
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "state.json"
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", str(notebook), str(out), "--flags", force_flags],
            env=env,
            capture_output=True,
            text=True,
        )
        state = json.loads(out.read_text()) if out.exists() else dict(failures=[], running=None)
    failures = state["failures"]
    if proc.returncode != 0 or not state.get("finished"):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        where = state["running"] or dict(cell=-1, first_line="(outside any cell)")
        failures.append({**where, "error": f"the notebook's process died (exit status {proc.returncode}): {tail[0]}"})
    return dict(notebook=notebook, seed=seed, failures=failures, seconds=time.time() - start)


def cpu_has_native_bf16() -> str:
    try:
        import torch

        probes = [getattr(torch.cpu, n, None) for n in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
        return "yes" if any(p() for p in probes if p is not None) else "no"
    except Exception as e:
        return f"unknown ({type(e).__name__})"


def rel(p: Path) -> str:
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def cell_label(f: dict) -> str:
    return f"{'no cell' if f['cell'] < 0 else 'cell ' + str(f['cell'])} `{f['first_line'][:70]}`"


def report(results: list[dict], notebooks: list[Path], seeds: list[int]) -> bool:
    "Print the per-notebook, per-seed table and the per-cell summary; True if everything passed."
    width = max(len(rel(nb)) for nb in notebooks)
    print(f"\n{'notebook':<{width}}  seed  result")
    by_key = {(r["notebook"], r["seed"]): r for r in results}
    for nb in notebooks:
        for seed in seeds:
            r = by_key[nb, seed]
            if not r["failures"]:
                print(f"{rel(nb):<{width}}  {seed:>4}  pass ({r['seconds']:.0f}s)")
                continue
            for i, f in enumerate(r["failures"]):
                lead = f"{rel(nb):<{width}}  {seed:>4}  FAIL" if i == 0 else " " * (width + 12)
                print(f"{lead} {cell_label(f)}: {f['error'][:200]}")
    cells = defaultdict(lambda: defaultdict(list))  # (notebook, cell, first line) -> error -> seeds
    for r in results:
        for f in r["failures"]:
            cells[r["notebook"], f["cell"], f["first_line"]][f["error"]].append(r["seed"])
    if not cells:
        print(f"\nall {len(notebooks)} notebook(s) passed for seeds {', '.join(map(str, seeds))}")
        return True
    print(f"\nfailing cells ({len(cells)}), across seeds {', '.join(map(str, seeds))}:")
    for (nb, cell, line), errors in sorted(cells.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        failed = sorted({s for ss in errors.values() for s in ss})
        label = cell_label(dict(cell=cell, first_line=line))
        print(f"{rel(nb)} {label}: failed for {len(failed)}/{len(seeds)} seeds ({', '.join(map(str, failed))})")
        for error, ss in sorted(errors.items(), key=lambda kv: kv[1]):
            print(f"    seed{'s' if len(ss) > 1 else ''} {', '.join(map(str, sorted(ss)))}: {error[:200]}")
    return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Run notebooks' tests for many seeds (KDFIDELITY_TEST_SEED) at "
        "smoke scale and report every failing cell."
    )
    parser.add_argument("notebooks", nargs="*", help=f"notebooks or globs (default: {' '.join(DEFAULT_NOTEBOOKS)})")
    parser.add_argument("--seeds", type=parse_seeds, default=parse_seeds("0-9"), help="e.g. 0-9 or 0,3,5-7")
    parser.add_argument("--jobs", type=int, default=1, help="notebook runs at once (default 1)")
    parser.add_argument("--flags", default="", help="nbdev test flags to run anyway, as nbdev-test --flags")
    parser.add_argument("--worker", nargs=2, metavar=("NOTEBOOK", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(Path(args.worker[0]), Path(args.worker[1]), args.flags)
        return 0
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    notebooks = find_notebooks(args.notebooks)
    print(
        f"seed sweep: {len(notebooks)} notebook(s) x {len(args.seeds)} seed(s), KDFIDELITY_SCALE=smoke, "
        f"{args.jobs} job(s), CPU native bf16: {cpu_has_native_bf16()}",
        flush=True,
    )
    pairs = [(nb, seed) for nb in notebooks for seed in args.seeds]

    def one(pair):
        r = run_one(*pair, args.jobs, args.flags)
        status = "pass" if not r["failures"] else f"{len(r['failures'])} failing cell(s)"
        print(f"  {rel(r['notebook'])} seed {r['seed']}: {status} ({r['seconds']:.0f}s)", flush=True)
        return r

    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(one, pairs))
    return 0 if report(results, notebooks, args.seeds) else 1


if __name__ == "__main__":
    sys.exit(main())
