"""Milliseconds of one distillation step of the patience chapter's `cpu` student with each of its optimisers (SGD, Adam,
Muon: `kdfidelity.paper.patience.PATIENCE_OPTIMIZERS`), side by side in one process on one thread.

    python benchmarks/optimizer_step.py
    python benchmarks/optimizer_step.py --out nbs/results/patience/optimizer_step_cpu.csv

The student is the `cpu` scale's (BatchNorm PreResNet-8, 3 x 16 x 16 inputs, 10 classes, batch 128), distilled at
tau = 4 from a stored teacher-logit table under crop and flip, as the chapter's consistent-view students are: each step
is `kdfidelity.train.train_step`, the function `fit` calls for every batch, on synthetic uint8 images. The optimisers'
rounds are interleaved (SGD, Adam, Muon, SGD, ...), so a machine whose speed drifts affects all alike; every number is
the median over rounds. The training seconds the chapter's runs log depend on what else the machine ran meanwhile; this
is the cost of the optimiser itself.
"""

from __future__ import annotations

import argparse
import platform
import time

import pandas as pd
import torch

from kdfidelity.augment import build_policy
from kdfidelity.data import Batch, ImageDataset
from kdfidelity.models import build_model
from kdfidelity.paper.patience import PATIENCE_OPTIMIZERS
from kdfidelity.train import TeacherLogitCache, TrainConfig, build_optimizer, build_scheduler, train_step


def timed_rounds(steps: int, rounds: int, warmup: int) -> pd.DataFrame:
    "Per optimiser, the milliseconds of each of `rounds` rounds of `steps` steps (after `warmup` untimed steps)."
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (128, 3, 16, 16), dtype=torch.uint8, generator=generator)
    data = ImageDataset(images, torch.arange(128) % 10, 10, (0.5,) * 3, (0.5,) * 3, "synthetic")
    policy = build_policy("baseline", padding=2)
    table = TeacherLogitCache(torch.randn(128, policy.num_views, 10, generator=generator), policy)
    batch = Batch(images, data.labels, torch.arange(128))
    runs = {}
    for name, fields in PATIENCE_OPTIMIZERS.items():
        torch.manual_seed(0)
        model = build_model("preresnet8", 10).train()
        config = TrainConfig(epochs=1000, batch_size=128, **fields)
        optimizer = build_optimizer(model, config)
        runs[name] = (model, config, optimizer, build_scheduler(optimizer, config, 8))

    def step(name: str):
        model, config, optimizer, scheduler = runs[name]
        train_step(
            model, batch, data, optimizer, scheduler, config, policy=policy, generator=generator, teacher_cache=table
        )

    for name in runs:
        for _ in range(warmup):
            step(name)
    rows = []
    for r in range(rounds):
        for name in runs:
            start = time.perf_counter()
            for _ in range(steps):
                step(name)
            rows.append(dict(optimizer=name, round=r, ms_per_step=1000 * (time.perf_counter() - start) / steps))
    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--out", help="write the table (CSV) here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rounds = timed_rounds(args.steps, args.rounds, args.warmup)
    table = rounds.groupby("optimizer", sort=False)["ms_per_step"].agg(["median", "min", "max"]).round(1)
    table["relative to SGD"] = (table["median"] / table.loc["SGD", "median"]).round(2)
    print(f"{args.rounds} rounds of {args.steps} steps, 1 thread, {platform.machine()}, torch {torch.__version__}")
    print(table.to_string())
    if args.out:
        table.to_csv(args.out)


if __name__ == "__main__":
    main()
