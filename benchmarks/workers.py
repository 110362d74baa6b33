"""Grid throughput on one machine: N single-threaded worker processes sharing a results store against one process.

    python benchmarks/workers.py --workers 2 --threads 1      # what `kdfidelity run` does by default on a 2-core CPU
    python benchmarks/workers.py --workers 1 --threads 2      # one process using both cores
    farm-bench -n 2 --warmup 0 --timeout 1500 --vs 'python benchmarks/workers.py --workers 1 --threads 2' \
        -- python benchmarks/workers.py --workers 2 --threads 1

The workload is a slice of the `cpu` grid of Section 5.1 (real CIFAR-100 from `--data-dir`): the first three members
of trials 0 and 1 and the two m = 3 Baseline students they teach, every run cut to one epoch, so the mix of supervised
members and ensemble-distilled students is the grid's. Each worker is this script in `--child` mode calling
`kdfidelity.runner.run_experiment` on the same fresh results directory, exactly as `kdfidelity run --workers`
starts `kdfidelity run --workers 1` children: the results store's claims deal out the runs. Prints the wall time.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def bench_grid(scale: str):
    "The benchmark's slice of Section 5.1's grid at `scale`, every run one epoch."
    from kdfidelity.experiments import GridPoint
    from kdfidelity.paper.sec5_1 import sec5_1_members, sec5_1_presets, sec5_1_student

    def short(spec):
        return dataclasses.replace(
            spec,
            train=dataclasses.replace(spec.train, epochs=1, eval_every=1),
            teachers=tuple(short(t) for t in spec.teachers),
        )

    sizes = sec5_1_presets(scale)["ensemble_sizes"]
    m = sizes[len(sizes) // 2]  # 3 at cpu scale
    points = [
        GridPoint(short(member), dict(trial=t, member=k))
        for t in (0, 1)
        for k, member in enumerate(sec5_1_members(scale, t)[:m])
    ]
    return points + [GridPoint(short(sec5_1_student(scale, t, "baseline_tau4", m)), dict(trial=t)) for t in (0, 1)]


def child(results_dir: str, scale: str, data_dir: str):
    import warnings

    warnings.simplefilter("ignore")
    from kdfidelity.experiments import experiment
    from kdfidelity.runner import run_experiment
    from kdfidelity.workspace import Workspace

    experiment("_bench_workers", "benchmark slice of Section 5.1")(bench_grid)
    ws = Workspace.from_settings(data_dir=data_dir, results_dir=results_dir, device="cpu", progress=False)
    report = run_experiment("_bench_workers", scale, ws, log=None)
    if report.failed:
        sys.exit(f"failed runs: {report.failed}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--child", metavar="RESULTS_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.scale, args.data_dir)
    env = {**os.environ, "KDFIDELITY_THREADS": str(args.threads)}
    with tempfile.TemporaryDirectory() as results:
        start = time.perf_counter()
        command = [sys.executable, __file__, "--child", results, "--scale", args.scale, "--data-dir", args.data_dir]
        children = [subprocess.Popen(command, env=env) for _ in range(args.workers)]
        if any(c.wait() for c in children):
            sys.exit("a worker failed")
        print(f"{args.workers} worker(s) x {args.threads} thread(s): {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
