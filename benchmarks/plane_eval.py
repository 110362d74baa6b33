"""Seconds per grid point of a loss plane (`kdfidelity.landscape.evaluate_plane`): one point per forward pass against
several, stacked with `torch.func.vmap`.

    python benchmarks/plane_eval.py                                  # PreResNet-8 with LayerNorm, 500 images, CPU
    python benchmarks/plane_eval.py --model preresnet20 --examples 2000 --device cuda --passes 1 8 32

The network is random and the inputs are random CIFAR-shaped images: the time of a point does not depend on the weights.
Each setting evaluates the same `--points` grid points after one untimed warm-up point; prints seconds per point and
the ratio to one point per pass (above 1: batching pays), and writes them as JSON with `--out`.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from kdfidelity.landscape import evaluate_plane, plane_through
from kdfidelity.models import build_model
from kdfidelity.settings import resolve_device
from kdfidelity.train import seeded_init


def seconds_per_point(model, plane, inputs, teacher_logits, points: int, per_pass: int) -> float:
    xs = np.linspace(-1, 1, points)
    evaluate_plane(
        model, plane, xs[:per_pass], [0.0], inputs, teacher_logits, 4.0, points_per_pass=per_pass, progress=False
    )
    start = time.perf_counter()
    evaluate_plane(model, plane, xs, [0.0], inputs, teacher_logits, 4.0, points_per_pass=per_pass, progress=False)
    if inputs.device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / points


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="preresnet8")
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--points", type=int, default=16, help="grid points timed per setting")
    parser.add_argument(
        "--passes", type=int, nargs="+", default=[1, 4, 8, 16], help="points per forward pass to compare"
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    nets = [seeded_init(lambda: build_model(args.model, 100, norm="layer"), s).to(device).eval() for s in (0, 1, 2)]
    plane = plane_through(*(n.state_dict() for n in nets))
    inputs = torch.randn(args.examples, 3, 32, 32, generator=torch.Generator().manual_seed(0)).to(device)
    with torch.inference_mode():
        teacher_logits = nets[0](inputs)
    rows = [
        dict(
            points_per_pass=k,
            seconds_per_point=seconds_per_point(nets[1], plane, inputs, teacher_logits, args.points, k),
        )
        for k in args.passes
    ]
    single = next((r["seconds_per_point"] for r in rows if r["points_per_pass"] == 1), None)
    for r in rows:
        r["speedup_over_one_per_pass"] = single / r["seconds_per_point"] if single else None
        print(
            f"{r['points_per_pass']:>3} points per pass: {r['seconds_per_point']:.4f} s per point"
            + (f", {r['speedup_over_one_per_pass']:.2f}x one per pass" if single else "")
        )
    if args.out:
        meta = dict(
            model=args.model,
            examples=args.examples,
            device=str(device),
            threads=torch.get_num_threads(),
            processor=platform.processor() or platform.machine(),
            torch=torch.__version__,
        )
        with open(args.out, "w") as f:
            json.dump(dict(meta=meta, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
