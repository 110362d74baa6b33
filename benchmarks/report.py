"""Seconds for one fidelity report (`kdfidelity.report.fidelity_report`): a teacher and a student, both PreResNet-56 by
default, on 10,000 CIFAR-shaped test images, at several forward batch sizes.

    python benchmarks/report.py                              # the report's CPU default (64), then 1,024
    python benchmarks/report.py --batch-sizes 16 32 64 128 --out /tmp/report.json
    python benchmarks/report.py --model preresnet8 --examples 2000

The networks are random and the images random uint8: the time of a report does not depend on the weights. Each batch
size runs in a fresh process, timed from the call to `fidelity_report` to its return (both networks' forward passes,
every metric and 1,000 bootstrap resamples); the figure and the HTML page are not drawn.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time


def one_report(model: str, examples: int, threads: int, batch_size: int) -> dict:
    "Time one report in this process."
    import torch

    from kdfidelity.data import ImageDataset
    from kdfidelity.models import build_model
    from kdfidelity.report import fidelity_report

    torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(0)
    data = ImageDataset(
        torch.randint(0, 256, (examples, 3, 32, 32), dtype=torch.uint8, generator=generator),
        torch.randint(0, 100, (examples,), generator=generator),
        100,
        (0.5, 0.5, 0.5),
        (0.25, 0.25, 0.25),
        "random-cifar",
    )
    networks = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        networks.append(build_model(model, 100).eval())
    start = time.perf_counter()
    fidelity_report(*networks, data, batch_size=batch_size)
    return dict(
        model=model,
        examples=examples,
        threads=threads,
        batch_size=batch_size,
        seconds=round(time.perf_counter() - start, 2),
        torch=torch.__version__,
        cpu=platform.processor() or platform.machine(),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="preresnet56")
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 1024])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help="write the rows as JSON")
    args = parser.parse_args(argv)
    if args.child:
        row = one_report(args.model, args.examples, args.threads, args.batch_sizes[0])
        print(json.dumps(row))
        return
    rows = []
    for batch_size in args.batch_sizes:
        command = [sys.executable, __file__, "--child", "--model", args.model, "--examples", str(args.examples)]
        command += ["--threads", str(args.threads), "--batch-sizes", str(batch_size)]
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(
            f"{args.model}, {args.examples} images, {args.threads} threads, batch {batch_size}: {rows[-1]['seconds']} s"
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
