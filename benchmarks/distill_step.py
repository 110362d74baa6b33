"""Images per second of one distillation training step: the loop as commonly written against \
kdfidelity's own `train_step`.

Both run in this one process, side by side, on the same synthetic uint8 data:

- reference: a `torch.utils.data.DataLoader` over PIL images with per-sample torchvision transforms (random crop with 4
  pixels of zero padding, horizontal flip, `ToTensor`, `Normalize`), fp32 NCHW, the teacher ensemble's members called
  one after another in a Python loop under `torch.no_grad()`, their logits combined by
  `kdfidelity.losses.ensemble_logits`, then the student's forward pass, the KD loss (Eq. 1, tau = 4), backward, an SGD
  step and a cosine-schedule step;
- kdfidelity: `kdfidelity.train.train_step`, the function `fit` calls for every batch, fed by the engine's
  `BatchIterator` (the whole uint8 dataset on the device, batched augmentation on the device) with an `Ensemble`
  teacher;
- kdfidelity, cached: the same `train_step` with `teacher_cache=` a `kdfidelity.train.TeacherLogitCache` of the
  teacher's logits for every (image, view) of a reduced dataset, so the teacher is not run; its one-off build is timed
  separately.

Run `python benchmarks/distill_step.py --help` for the options; `benchmarks/README.md` explains the columns.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import platform
import resource
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torch.utils.flop_counter import FlopCounterMode
from torchvision import transforms

from kdfidelity.data import Batch, BatchIterator, ImageDataset
from kdfidelity.losses import ensemble_logits, kd_loss
from kdfidelity.models import Ensemble, build_model
from kdfidelity.settings import SettingsError, resolve_device
from kdfidelity.augment import build_policy
from kdfidelity.train import (
    TeacherLogitCache,
    TrainConfig,
    autocast_context,
    build_optimizer,
    build_scheduler,
    native_bf16,
    train_step,
)
from kdfidelity.train import (
    channels_last_layout,
    compiled,
)  # what fit uses for SpeedOptions(channels_last=True, compile=True)

BATCH_SIZE = 128
POOL_BATCHES = 64  # synthetic images per workload: 64 batches, so the timed steps rarely cross an epoch
MAX_AUTO_STEPS = 20
COMPILE_SECONDS = {
    "lenet5": 15.0,
    "preresnet56": 90.0,
}  # rough first-compile time of student and teacher on the 2-core CPU
MAIN_SHARE = 0.65  # of --time-budget, for the main comparison; option rows use what is left
TAU = 4.0


@dataclass(frozen=True)
class Workload:
    "A student and an `members`-network teacher of the same architecture on data of one shape."

    name: str
    model: str
    num_classes: int
    image_shape: tuple[int, int, int]  # C, H, W
    members: int
    flip: bool  # the augmentation: crop with 4 pixels of padding, and a flip when True


WORKLOADS = {
    w.name: w
    for w in (
        Workload("lenet5-t1", "lenet5", 10, (1, 28, 28), 1, flip=False),  # MNIST-shaped: crop without flip
        Workload("resnet56-t1", "preresnet56", 100, (3, 32, 32), 1, flip=True),
        Workload("resnet56-t3", "preresnet56", 100, (3, 32, 32), 3, flip=True),
        Workload("resnet56-t5", "preresnet56", 100, (3, 32, 32), 5, flip=True),
    )
}


@dataclass(frozen=True)
class Variant:
    "One way of running the step: which implementation and with which speed options."

    impl: str  # "reference" | "kdfidelity"
    precision: str = "fp32"
    channels_last: bool = False
    threads: int = 1
    workers: int = 0  # DataLoader workers (reference only)
    cached: bool = False  # kdfidelity only: teacher logits from a TeacherLogitCache
    compile: bool = False  # kdfidelity only: student and teacher through torch.compile, as SpeedOptions(compile=True)

    def describe(self, main: Variant) -> str:
        """What differs from the main kdfidelity run `main`, in a few words (the reference: what differs from its own
        main run)."""
        if self.impl == "reference":
            return f"{self.workers} workers" if self.workers else "default"
        parts = [
            p
            for p, on in (
                ("cached", self.cached),
                (self.precision, self.precision != main.precision),
                ("NCHW" if main.channels_last else "channels_last", self.channels_last != main.channels_last),
                ("eager" if main.compile else "compiled", self.compile != main.compile),
                (f"{self.threads} thr", self.threads != main.threads),
            )
            if on
        ]
        return "+".join(parts) or "default"

    def warm_key(self, workload: Workload) -> tuple:
        """Runs that share compiled kernels and allocator state: same networks, precision, layout, compilation and
        thread count."""
        return (workload.model, self.precision, self.channels_last, self.compile, self.threads)


# ----------------------------------------------------------------------------------------------------------------------
# Synthetic data


def synthetic_images(workload: Workload, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    "Random uint8 images N x C x H x W and labels, the same for both implementations."
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, *workload.image_shape), dtype=np.uint8)
    return images, rng.integers(0, workload.num_classes, size=n, dtype=np.int64)


class PILImages(Dataset):
    "Images as a torchvision dataset returns them: a PIL image per item, then per-sample transforms."

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform):
        self.images = np.ascontiguousarray(images.transpose(0, 2, 3, 1))  # N x H x W x C, as CIFAR is stored
        if self.images.shape[-1] == 1:
            self.images = self.images[..., 0]  # N x H x W, as MNIST is stored
        self.labels, self.transform = labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def channel_stats(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    x = images.astype(np.float32) / 255
    return tuple(x.mean((0, 2, 3)).tolist()), tuple(x.std((0, 2, 3)).tolist())


# ----------------------------------------------------------------------------------------------------------------------
# Timing helpers


def synchronize(device: torch.device):
    "Wait for the device's queued work, so that `perf_counter` brackets it (a no-op on the CPU)."
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def endless(batches):
    "The batches of `batches` (a BatchIterator or DataLoader), epoch after epoch, without end."
    while True:
        yield from batches


@dataclass
class StepTimes:
    data: float = 0.0
    teacher: float = 0.0
    student: float = 0.0

    @property
    def total(self) -> float:
        return self.data + self.teacher + self.student


class TeacherClock:
    "Marks the start and end of the teacher's forward pass via module hooks, so `train_step` runs unmodified."

    def __init__(self, teacher: nn.Module, device: torch.device):
        self.device, self.start, self.end = device, None, None
        self.handles = [teacher.register_forward_pre_hook(self._before), teacher.register_forward_hook(self._after)]

    def _before(self, module, args):
        synchronize(self.device)
        self.start = time.perf_counter()

    def _after(self, module, args, output):
        synchronize(self.device)
        self.end = time.perf_counter()

    def remove(self):
        for h in self.handles:
            h.remove()


class CacheClock:
    "Marks the start and end of the cache lookup (the cached step's 'teacher' phase) by wrapping the cache's `lookup`."

    def __init__(self, cache: TeacherLogitCache, device: torch.device):
        self.device, self.start, self.end, lookup = device, None, None, cache.lookup

        def timed(*args, **kwargs):
            synchronize(device)
            self.start = time.perf_counter()
            rows = lookup(*args, **kwargs)
            synchronize(device)
            self.end = time.perf_counter()
            return rows

        cache.lookup = timed
        self.cache = cache

    def remove(self):
        del self.cache.lookup  # the class's method again


def teacher_cache(teacher, data, policy, precision, device, budget_s: float) -> tuple[TeacherLogitCache, float, bool]:
    """A `TeacherLogitCache` of `teacher` on `data` under `policy`, its build seconds, and whether they are estimated.

    The build is V teacher passes over `data`, one per view. One warm pass is timed (a cache under the 1-view `none`
    policy); when V of them fit in `budget_s` the real cache is built and timed, otherwise the build time is V times
    the one pass and the cache holds that pass's (unaugmented) logits for every view: real teacher logits, so the
    step's cost is the same."""
    for _ in range(2):  # the second, warm, pass is timed: the first may be the network's first run in this process
        began = time.perf_counter()
        one_view = TeacherLogitCache.build(
            teacher,
            data,
            build_policy("none"),
            precision=precision,
            device=device,
            storage_device=device,
            batch_size=BATCH_SIZE,
        )
        synchronize(device)
        per_view = time.perf_counter() - began
    views = policy.num_views
    if per_view * views <= budget_s:
        began = time.perf_counter()
        cache = TeacherLogitCache.build(
            teacher, data, policy, precision=precision, device=device, storage_device=device, batch_size=BATCH_SIZE
        )
        synchronize(device)
        return cache, time.perf_counter() - began, False
    logits = one_view.logits.expand(-1, views, -1).contiguous()
    return TeacherLogitCache(logits, policy, precision), per_view * views, True


class KdfidelityStepper:
    "Steps of `kdfidelity.train.train_step` over the engine's `BatchIterator`, as `fit` runs them."

    def __init__(self, workload, variant, student, teacher, images, labels, device, cache_build_budget: float = 0.0):
        mean, std = channel_stats(images)
        self.data = ImageDataset(torch.from_numpy(images), torch.from_numpy(labels), workload.num_classes, mean, std)
        self.config = TrainConfig(
            epochs=1,
            batch_size=BATCH_SIZE,
            lr=0.05,
            precision=variant.precision,
            augmentation="baseline",
            augmentation_options={"flip": workload.flip},
        )
        self.batches = BatchIterator(self.data, BATCH_SIZE, seed=0, device=device)
        self.device, self.variant = device, variant
        self.student, self.teacher = (
            compiled(student, variant.compile),
            compiled(teacher, variant.compile and not variant.cached),
        )
        self.optimizer = build_optimizer(student, self.config)
        self.scheduler = build_scheduler(self.optimizer, self.config, len(self.batches))
        self.policy = build_policy(self.config.augmentation, **self.config.augmentation_options)
        self.generator = torch.Generator().manual_seed(1)
        self.amp = autocast_context(self.config.precision, device)
        self.batch_stream = endless(self.batches)
        self.cache, self.cache_build_s, self.cache_estimated = None, math.nan, False
        if variant.cached:
            with channels_last_layout((teacher,), variant.channels_last):
                self.cache, self.cache_build_s, self.cache_estimated = teacher_cache(
                    teacher, self.data, self.policy, self.config.precision, device, cache_build_budget
                )

    @contextmanager
    def session(self):
        """The networks as `fit` holds them: student in train mode, teacher in eval mode, layouts and compilation as the
        variant asks."""
        self.student.train()
        self.teacher.eval()
        with channels_last_layout((self.student, self.teacher), self.variant.channels_last):
            clock = (
                CacheClock(self.cache, self.device)
                if self.cache is not None
                else TeacherClock(self.teacher, self.device)
            )
            try:
                yield clock
            finally:
                clock.remove()

    def step(self, clock: TeacherClock | CacheClock) -> StepTimes:
        began = time.perf_counter()
        batch = next(self.batch_stream)
        train_step(
            self.student,
            batch,
            self.data,
            self.optimizer,
            self.scheduler,
            self.config,
            teacher=None if self.cache is not None else self.teacher,
            policy=self.policy,
            generator=self.generator,
            amp=self.amp,
            channels_last=self.variant.channels_last,
            teacher_cache=self.cache,
        )
        synchronize(self.device)
        ended = time.perf_counter()
        return StepTimes(clock.start - began, clock.end - clock.start, ended - clock.end)


class ReferenceStepper:
    """The common loop: DataLoader with per-sample transforms, a Python loop over the teacher's members, then the
    student."""

    def __init__(self, workload, variant, student, members, images, labels, device):
        mean, std = channel_stats(images)
        size = workload.image_shape[1]
        augment = [transforms.RandomCrop(size, padding=4)] + (
            [transforms.RandomHorizontalFlip()] if workload.flip else []
        )
        transform = transforms.Compose([*augment, transforms.ToTensor(), transforms.Normalize(mean, std)])
        self.loader = DataLoader(
            PILImages(images, labels, transform),
            batch_size=BATCH_SIZE,
            shuffle=True,
            drop_last=True,
            num_workers=variant.workers,
            persistent_workers=variant.workers > 0,
            pin_memory=device.type == "cuda",
        )
        self.student, self.members, self.device = student, members, device
        self.optimizer = torch.optim.SGD(student.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.optimizer, T_max=len(self.loader), eta_min=1e-6
        )
        self.batch_stream = endless(self.loader)

    @contextmanager
    def session(self):
        self.student.train()
        for m in self.members:
            m.eval()
        yield None

    def step(self, clock=None) -> StepTimes:
        began = time.perf_counter()
        x, _ = next(self.batch_stream)
        x = x.to(self.device, non_blocking=True)
        synchronize(self.device)
        fetched = time.perf_counter()
        with torch.no_grad():
            teacher_logits = ensemble_logits([member(x) for member in self.members])
        synchronize(self.device)
        taught = time.perf_counter()
        loss = kd_loss(self.student(x), teacher_logits, TAU)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        synchronize(self.device)
        ended = time.perf_counter()
        return StepTimes(fetched - began, taught - fetched, ended - taught)

    def warm_data(self):
        "Start the workers and fetch a first batch outside the timing (the rest of the pipeline is warm already)."
        next(self.batch_stream)


# ----------------------------------------------------------------------------------------------------------------------
# Machine throughput and model FLOPs


def gemm_flops_per_second(device: torch.device, dtype: torch.dtype, seconds: float = 1.0) -> float:
    "Measured FLOP/s of a large square `torch.mm` in `dtype` on `device` (the best of several timed runs)."
    n = 4096 if device.type == "cuda" else 2048
    a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
    torch.mm(a, b)
    synchronize(device)
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        torch.mm(a, b)
        synchronize(device)
        best = max(best, 2 * n**3 / (time.perf_counter() - began))
    return best


def step_flops(workload: Workload, variant: Variant, student, teacher, device, images, labels, probe: int = 4) -> float:
    """FLOPs of one `train_step` of `BATCH_SIZE` images, counted on a `probe`-image step and scaled (they are linear in
    batch)."""
    eager = replace(
        variant, compile=False
    )  # the same FLOPs, without compiling the networks again for the probe's shape
    stepper = KdfidelityStepper(workload, eager, student, teacher, images[:probe], labels[:probe], device)
    stepper.batches = BatchIterator(stepper.data, probe, seed=0, device=device)
    stepper.iterator = iter(stepper.batches)
    with stepper.session() as clock, FlopCounterMode(display=False) as counter:
        stepper.step(clock)
    return counter.get_total_flops() * BATCH_SIZE / probe


def reset_peak_memory(device: torch.device) -> bool:
    "Start a new peak-memory window; False where the CPU peak cannot be reset (then it is the process's peak so far)."
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return True
    try:  # Linux: "5" resets the peak RSS that getrusage reports as ru_maxrss
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_memory_mib(device: torch.device) -> float:
    "Peak memory since `reset_peak_memory`: CUDA allocations, or this process's resident set (`getrusage`, CPU)."
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ----------------------------------------------------------------------------------------------------------------------
# Measurement


@dataclass
class Row:
    workload: str
    impl: str
    option: str
    precision: str
    channels_last: bool
    compiled: bool
    threads: int
    workers: int
    steps: int
    repeats: int
    images_per_s: float
    ratio_vs_reference: float
    data_ms: float
    teacher_ms: float
    student_ms: float
    data_pct: float
    teacher_pct: float
    student_pct: float
    peak_mem_mib: float
    gflop_per_step: float
    achieved_tflops: float
    pct_of_gemm_peak: float
    device: str
    cache_build_s: float = math.nan  # cached rows: the one-off build of the cache of the reduced dataset
    cache_build_estimated: bool = (
        False  # True: V x the timed build of one view (the full build would overrun its budget)
    )
    cache_images: int = 0  # cached rows: images in the reduced dataset


def warmup_steps(args, variant: Variant) -> int:
    """Untimed steps before a variant's kernels are warm: `--warmup`, and one more for bf16 (lazy kernels) or
    compilation."""
    return args.warmup + (1 if args.warmup and (variant.precision == "bf16" or variant.compile) else 0)


class Bench:
    def __init__(self, args):
        self.args, self.device = args, args.device
        self.warm: dict[tuple, float] = {}  # warm_key -> seconds of the last step seen with those kernels
        self.step_seconds: dict[tuple, float] = {}  # (workload, warm_key) -> seconds of its last timed step
        self.memory_reset = True
        self.began = time.perf_counter()
        self.students: dict[str, nn.Module] = {}
        self.members: dict[str, list[nn.Module]] = {}
        self.cache_build: dict[tuple, tuple[float, bool]] = {}  # (workload, variant) -> (build seconds, estimated)
        self.log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if not args.quiet else (lambda *a: None)

    def networks(self, workload: Workload) -> tuple[nn.Module, list[nn.Module]]:
        "The student and the first `members` teacher networks, built once per architecture and shared by all runs."
        if workload.model not in self.students:
            torch.manual_seed(0)
            build = lambda: build_model(workload.model, workload.num_classes).to(self.device)
            self.students[workload.model], self.members[workload.model] = build(), []
        members = self.members[workload.model]
        while len(members) < workload.members:
            members.append(build_model(workload.model, workload.num_classes).to(self.device).eval())
        return self.students[workload.model], members[: workload.members]

    def steppers(self, workload: Workload, variants: list[Variant], pool: int):
        student, members = self.networks(workload)
        teacher = members[0] if len(members) == 1 else Ensemble(members).eval()  # as kdfidelity.runs.load_teacher
        images, labels = synthetic_images(workload, pool)
        for v in variants:
            if v.cached:  # the reduced dataset of --cache-images images, every view of which is cached
                n = self.args.cache_images
                stepper = KdfidelityStepper(
                    workload, v, student, teacher, images[:n], labels[:n], self.device, self.args.cache_build_budget
                )
                self.cache_build[workload.name, v] = (stepper.cache_build_s, stepper.cache_estimated)
                self.log(
                    f"  cache of {n} images x {stepper.cache.num_views} views x {workload.num_classes} classes "
                    f"({stepper.cache.nbytes / 2**20:.1f} MiB): {'about ' if stepper.cache_estimated else ''}"
                    f"{stepper.cache_build_s:.1f} s to build"
                    f"{' (estimated from one view)' if stepper.cache_estimated else ''}"
                )
                yield v, stepper
            elif v.impl == "kdfidelity":
                yield v, KdfidelityStepper(workload, v, student, teacher, images, labels, self.device)
            else:
                yield v, ReferenceStepper(workload, v, student, members, images, labels, self.device)

    def estimated_seconds(self, workload: Workload, variant: Variant, main: Variant, repeats: int) -> float:
        """A rough duration of `repeats` rounds of an option run, from the main run of the same workload (fewer
        threads: slower)."""
        key = variant.warm_key(workload)
        step = self.step_seconds.get((workload.name, main.warm_key(workload)), 0.0) * max(
            1.0, main.threads / variant.threads
        )
        steps = (
            self.args.steps or max(1, min(MAX_AUTO_STEPS, math.ceil(self.args.target_seconds / step))) if step else 1
        )
        warmup = 0 if key in self.warm else self.args.warmup + (variant.precision == "bf16" or variant.compile)
        if variant.compile and key not in self.warm:
            warmup += COMPILE_SECONDS.get(workload.model, 60.0) / max(step, 1e-3)
        return step * (warmup + repeats * steps)

    def run_group(self, workload: Workload, variants: list[Variant], deadline: float = math.inf) -> dict[Variant, dict]:
        """Warm up, then time `repeats` rounds (fewer, but `min_repeats`, past `deadline`) of `steps` steps of every
        variant, interleaved."""
        args = self.args
        assert len({v.threads for v in variants}) == 1
        torch.set_num_threads(variants[0].threads)
        steps = args.steps or None
        pool = max(POOL_BATCHES, args.warmup + 2 + args.repeats * (steps or MAX_AUTO_STEPS)) * BATCH_SIZE
        steppers = dict(self.steppers(workload, variants, pool))
        results = {v: {"times": [], "mem": 0.0} for v in variants}
        # Warm-up. The first time kernels are run (network, precision, layout, compilation, threads: `warm_key`),
        # `warmup` full untimed steps (compiled: the first one compiles); a run whose kernels are warm already (the
        # cached run after the live one, the 3- and 5-member teachers after the 1-member one) only starts its data
        # pipeline untimed.
        for v, s in steppers.items():
            key = v.warm_key(workload)
            warmup = warmup_steps(args, v)
            with s.session() as clock:
                if key not in self.warm:
                    for j in range(warmup):
                        began = time.perf_counter()
                        seconds = s.step(clock).total
                        self.log(
                            f"  {v.impl} {v.describe(self.main)} warm-up step {j + 1}: "
                            f"{time.perf_counter() - began:.3f} s"
                        )
                        self.warm[key] = seconds
                elif isinstance(s, ReferenceStepper):
                    s.warm_data()
                else:
                    s.step(clock)
        if steps is None:  # from the slowest run of the group, so that every round is about --target-seconds or longer
            last = max(self.warm.get(v.warm_key(workload), math.nan) for v in variants)
            steps = 1 if not math.isfinite(last) else max(1, min(MAX_AUTO_STEPS, math.ceil(args.target_seconds / last)))
        for r in range(args.repeats):
            if r >= args.min_repeats and time.perf_counter() > deadline:
                self.log(f"  {workload.name}: stopping after {r} repeats to stay within --time-budget")
                break
            for v, s in steppers.items():
                self.memory_reset = reset_peak_memory(self.device) and self.memory_reset
                with s.session() as clock:
                    times = [s.step(clock) for _ in range(steps)]
                results[v]["times"].append(times)
                results[v]["mem"] = max(results[v]["mem"], peak_memory_mib(self.device))
                total = sum(t.total for t in times)
                self.warm[v.warm_key(workload)] = self.step_seconds[workload.name, v.warm_key(workload)] = total / steps
                self.log(
                    f"  {workload.name} {v.impl} {v.describe(self.main)} repeat {r + 1}: "
                    f"{steps * BATCH_SIZE / total:.1f} img/s"
                )
        for v in variants:
            results[v]["steps"] = steps
        return results  # the steppers go out of scope here, which stops any DataLoader workers


def profile_table(bench: Bench, workload: Workload, variants: list[Variant], steps: int, top: int) -> str:
    """Where a step's time goes: the `top` operators and compiled kernels of each run by self time, per step
    (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile

    cuda = bench.device.type == "cuda"
    torch.set_num_threads(variants[0].threads)
    lines = []
    for v, s in bench.steppers(workload, variants, max(POOL_BATCHES, bench.args.warmup + 3 + steps) * BATCH_SIZE):
        with s.session() as clock:
            for _ in range(warmup_steps(bench.args, v)):
                s.step(clock)
            with profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])) as prof:
                began = time.perf_counter()
                phases = [s.step(clock) for _ in range(steps)]
                seconds = time.perf_counter() - began
        self_us = (lambda e: e.self_device_time_total) if cuda else (lambda e: e.self_cpu_time_total)
        events = sorted(prof.key_averages(), key=self_us, reverse=True)[:top]
        split = " / ".join(
            f"{statistics.median(getattr(t, p) for t in phases) * 1e3:.2f}" for p in ("data", "teacher", "student")
        )
        lines += [
            f"{workload.name} {v.impl} {v.describe(bench.main)}: {seconds / steps * 1e3:.2f} ms per step under the "
            f"profiler (data / teacher / student ms: {split}); top {top} by self {'GPU' if cuda else 'CPU'} time",
            f"  {'ms/step':>8} {'% step':>7} {'calls/step':>10}  name",
        ]
        lines += [
            f"  {self_us(e) / 1e3 / steps:8.3f} {100 * self_us(e) / 1e6 / seconds:7.1f} "
            f"{e.count / steps:10.1f}  {e.key[:100]}"
            for e in events
        ]
        lines.append("")
    return "\n".join(lines)


def summarise(
    workload,
    variant,
    main,
    result,
    flops,
    gemm,
    device_name,
    reference_ips,
    cache_build=(math.nan, False),
    cache_images=0,
) -> Row:
    steps, repeats = result["steps"], len(result["times"])
    ips = statistics.median(steps * BATCH_SIZE / sum(t.total for t in ts) for ts in result["times"])
    phase = {
        p: statistics.median(sum(getattr(t, p) for t in ts) / steps for ts in result["times"])
        for p in ("data", "teacher", "student")
    }
    total = sum(phase.values())
    achieved = flops * ips / BATCH_SIZE
    peak = gemm["bf16" if variant.precision == "bf16" else "fp32"]
    return Row(
        workload.name,
        variant.impl,
        variant.describe(main),
        variant.precision,
        variant.channels_last,
        variant.compile,
        variant.threads,
        variant.workers if variant.impl == "reference" else 0,
        steps,
        repeats,
        ips,
        ips / reference_ips if reference_ips else math.nan,
        1e3 * phase["data"],
        1e3 * phase["teacher"],
        1e3 * phase["student"],
        100 * phase["data"] / total,
        100 * phase["teacher"] / total,
        100 * phase["student"] / total,
        result["mem"],
        flops / 1e9,
        achieved / 1e12,
        100 * achieved / peak,
        device_name,
        *cache_build,
        cache_images if variant.cached else 0,
    )


COLUMNS = [
    ("workload", "workload", "{}"),
    ("impl", "impl", "{}"),
    ("option", "option", "{}"),
    ("steps", "steps", "{}"),
    ("repeats", "rep", "{}"),
    ("images_per_s", "img/s", "{:.1f}"),
    ("ratio_vs_reference", "x ref", "{:.2f}"),
    ("data_ms", "data ms", "{:.1f}"),
    ("teacher_ms", "teach ms", "{:.1f}"),
    ("student_ms", "stud ms", "{:.1f}"),
    ("data_pct", "data%", "{:.0f}"),
    ("teacher_pct", "teach%", "{:.0f}"),
    ("student_pct", "stud%", "{:.0f}"),
    ("peak_mem_mib", "peak MiB", "{:.0f}"),
    ("gflop_per_step", "GFLOP/step", "{:.2f}"),
    ("achieved_tflops", "TFLOP/s", "{:.3f}"),
    ("pct_of_gemm_peak", "% GEMM", "{:.1f}"),
    ("cache_build_s", "cache build s", "{:.1f}"),
]


def format_table(rows: list[Row]) -> str:
    def cell(r, key, fmt):
        value = getattr(r, key)
        if key == "cache_build_s":
            return "" if math.isnan(value) else ("~" if r.cache_build_estimated else "") + fmt.format(value)
        return fmt.format(value)

    cells = [[title for _, title, _ in COLUMNS]] + [[cell(r, key, fmt) for key, _, fmt in COLUMNS] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    line = lambda c: "  ".join(v.ljust(w) if i < 3 else v.rjust(w) for i, (v, w) in enumerate(zip(c, widths)))
    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths), *map(line, cells[1:])])


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"CPU {cpu}"


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma-separated, from {', '.join(WORKLOADS)}")
    p.add_argument("--repeats", type=int, default=5, help="timed rounds per run; the table shows medians")
    p.add_argument(
        "--min-repeats", type=int, default=3, help="rounds that always run, even past the --time-budget share"
    )
    p.add_argument(
        "--steps",
        type=int,
        default=0,
        help="steps per round; 0: enough for --target-seconds per round, from the warm-up step time "
        f"(at most {MAX_AUTO_STEPS})",
    )
    p.add_argument("--target-seconds", type=float, default=1.0, help="length of a round when --steps is 0")
    p.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="untimed full steps the first time a network/precision/layout/thread count is run (bf16 gets one more)",
    )
    p.add_argument(
        "--precision",
        default=None,
        help="first: precision of the main kdfidelity run; others: option rows "
        "(default: bf16,fp32 on a CPU that computes bf16 natively, else fp32,bf16)",
    )
    p.add_argument(
        "--threads",
        default=f"{torch.get_num_threads()},1",
        help="torch CPU threads; first: the main comparison; others: option rows",
    )
    p.add_argument(
        "--workers", default="0,2", help="reference DataLoader workers; first: the main comparison; others: option rows"
    )
    p.add_argument(
        "--cached",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="add a kdfidelity 'cached' row per workload: teacher logits from a TeacherLogitCache",
    )
    p.add_argument(
        "--cache-images",
        type=int,
        default=BATCH_SIZE,
        help="images in the reduced dataset the cached row trains on (every view of each is cached)",
    )
    p.add_argument(
        "--cache-build-budget",
        type=float,
        default=30.0,
        help="seconds; a cache whose build would take longer is not built in full: its build time is then "
        "estimated as views x the timed build of one view (marked ~)",
    )
    p.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="main kdfidelity run with channels-last teacher and student, as SpeedOptions(channels_last=True)",
    )
    p.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="main kdfidelity run with compiled student and teacher, as SpeedOptions(compile=True); "
        "an option row runs eager",
    )
    p.add_argument("--layout-row", action="store_true", help="add an option row with the other memory layout")
    p.add_argument(
        "--option-workloads",
        default="lenet5-t1,resnet56-t1",
        help="workloads that get the option rows ('all' for every workload)",
    )
    p.add_argument(
        "--time-budget",
        type=float,
        default=540.0,
        help="seconds; option rows whose estimated time would overrun it are skipped (the main rows always run)",
    )
    p.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="STEPS",
        help="instead of the comparison, profile STEPS steps of the main kdfidelity run (live and cached) and "
        "of the reference per workload, and print each one's costliest operators and compiled kernels",
    )
    p.add_argument("--profile-top", type=int, default=15, help="operators per run that --profile prints")
    p.add_argument("--out", type=Path, help="also write the table to this .json or .csv file")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = p.parse_args(argv)
    try:
        args.device = resolve_device(args.device)
    except (SettingsError, ValueError) as e:
        p.error(str(e))
    split = lambda s: [x.strip() for x in s.split(",") if x.strip()]
    args.workloads = split(args.workloads)
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        p.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    args.option_workloads = args.workloads if args.option_workloads == "all" else split(args.option_workloads)
    if args.precision is None:  # measured: bf16 pays on AMX CPUs; on an H100 at batch 128 its casts slow ResNet-56 down
        args.precision = "bf16,fp32" if args.device.type == "cpu" and native_bf16(args.device) else "fp32,bf16"
    args.precision, args.threads, args.workers = (
        split(args.precision),
        [int(t) for t in split(args.threads)],
        [int(w) for w in split(args.workers)],
    )
    if any(x not in ("fp32", "bf16") for x in args.precision):
        p.error(f"--precision takes fp32 and/or bf16, got {args.precision}")
    if args.repeats < 1 or args.steps < 0 or args.warmup < 0 or args.profile < 0 or args.profile_top < 1:
        p.error("--repeats and --profile-top must be >= 1, --steps, --warmup and --profile >= 0")
    if args.cache_images < BATCH_SIZE:
        p.error(f"--cache-images must be at least the batch size {BATCH_SIZE}")
    args.min_repeats = max(1, min(args.min_repeats, args.repeats))
    if args.out is not None and args.out.suffix not in (".json", ".csv"):
        p.error(f"--out {args.out} must end in .json or .csv")
    if args.profile and args.out is not None:
        p.error("--profile prints its tables and writes no --out file; drop one of them")
    return args


def main(argv=None) -> list[Row]:
    began = time.perf_counter()
    args = parse_args(argv)
    device = args.device
    bench = Bench(args)
    main_ref = Variant("reference", "fp32", False, args.threads[0], args.workers[0])
    main_kdf = Variant("kdfidelity", args.precision[0], args.channels_last, args.threads[0], compile=args.compile)
    main_cached = replace(main_kdf, cached=True)
    bench.main = main_kdf
    options = [replace(main_kdf, precision=p) for p in args.precision[1:]]
    options += [replace(main_kdf, compile=False)] if args.compile else []
    options += [replace(main_kdf, channels_last=not args.channels_last)] if args.layout_row else []
    options += [replace(main_kdf, threads=t) for t in args.threads[1:]]
    options += [replace(main_ref, workers=w) for w in args.workers[1:]]

    if args.profile:
        from torch._inductor import config as inductor_config

        inductor_config.cpp.enable_kernel_profile = True  # name the compiled CPU kernels in the profile
        for name in args.workloads:
            bench.log(f"{name}: profiling {args.profile} steps per run")
            print(
                profile_table(
                    bench,
                    WORKLOADS[name],
                    [main_kdf, main_ref] + ([main_cached] if args.cached else []),
                    args.profile,
                    args.profile_top,
                )
            )
        return []

    torch.set_num_threads(args.threads[0])
    gemm = {"fp32": gemm_flops_per_second(device, torch.float32), "bf16": gemm_flops_per_second(device, torch.bfloat16)}
    name = device_name(device)
    bench.log(f"{name}: GEMM {gemm['fp32'] / 1e12:.3f} TFLOP/s fp32, {gemm['bf16'] / 1e12:.3f} TFLOP/s bf16")

    rows, flops = [], {}

    def record(workload, results, reference_ips):
        for v, result in results.items():
            key = (workload.name, v.precision, v.channels_last, v.cached)
            if key not in flops:
                student, members = bench.networks(workload)
                teacher = members[0] if len(members) == 1 else Ensemble(members).eval()
                images, labels = synthetic_images(workload, 4)
                flops[key] = step_flops(workload, v, student, teacher, device, images, labels)
            rows.append(
                summarise(
                    workload,
                    v,
                    main_kdf,
                    result,
                    flops[key],
                    gemm,
                    name,
                    reference_ips,
                    bench.cache_build.get((workload.name, v), (math.nan, False)),
                    args.cache_images,
                )
            )
        return rows

    reference_ips = {}
    # The main comparison first (workloads in order of size, so the CPU's peak RSS grows with them), then the options.
    # Rounds beyond --min-repeats stop where a workload's share of MAIN_SHARE of the time budget is spent; a share is
    # proportional to the step's cost in network passes: the student's forward and backward (about 3) plus one per
    # member.
    workloads = [WORKLOADS[name] for name in args.workloads]
    cost = {
        w.name: (0.1 if w.model == "lenet5" else 1.0) * (3 + w.members + (3 if args.cached else 0)) for w in workloads
    }
    share = {name: MAIN_SHARE * args.time_budget * c / sum(cost.values()) for name, c in cost.items()}
    for w in workloads:
        bench.log(f"{w.name}: reference vs kdfidelity{' (live and cached)' if args.cached else ''}")
        results = bench.run_group(
            w,
            [main_kdf, main_ref] + ([main_cached] if args.cached else []),
            deadline=time.perf_counter() + share[w.name],
        )
        r = results[main_ref]
        reference_ips[w.name] = statistics.median(
            r["steps"] * BATCH_SIZE / sum(t.total for t in ts) for ts in r["times"]
        )
        record(w, results, reference_ips[w.name])
    skipped = []
    pending = [(w, v) for w in workloads if w.name in args.option_workloads for v in options]
    for i, (w, v) in enumerate(pending):
        main_run = main_kdf if v.impl == "kdfidelity" else main_ref
        estimate = bench.estimated_seconds(w, v, main_run, args.min_repeats)
        left = args.time_budget - (time.perf_counter() - began)
        if estimate > left:
            skipped.append(f"{w.name} {v.impl} {v.describe(main_kdf)} (about {estimate:.0f} s)")
            bench.log(f"{w.name}: {v.impl} {v.describe(main_kdf)} skipped: it would overrun --time-budget")
            continue
        bench.log(f"{w.name}: {v.impl} {v.describe(main_kdf)}")
        deadline = time.perf_counter() + max(estimate, left / (len(pending) - i))  # extra rounds share what is left
        record(w, bench.run_group(w, [v], deadline=deadline), reference_ips[w.name])
    torch.set_num_threads(args.threads[0])

    order = {name: i for i, name in enumerate(args.workloads)}
    rows.sort(key=lambda r: order[r.workload])  # stable: main rows first within a workload
    elapsed = time.perf_counter() - began
    header = (
        f"distill_step benchmark on {name} ({device}), torch {torch.__version__}, batch {BATCH_SIZE}, "
        f"main threads {args.threads[0]}; kdfidelity default: {main_kdf.precision}, "
        f"{'channels_last' if main_kdf.channels_last else 'NCHW'}, {'compiled' if main_kdf.compile else 'eager'}; "
        f"reference: fp32, NCHW, eager; measured GEMM peak {gemm['fp32'] / 1e12:.3f} TFLOP/s fp32, "
        f"{gemm['bf16'] / 1e12:.3f} TFLOP/s bf16; medians over rounds (rep); total {elapsed:.0f} s"
    )
    print(header)
    print(format_table(rows))
    memory = (
        "peak MiB: max CUDA allocation per run"
        if device.type == "cuda"
        else "peak MiB: peak RSS of this process per run (getrusage; DataLoader workers not included)"
        if bench.memory_reset
        else "peak MiB: peak RSS of this process so far (getrusage; could not be reset per run)"
    )
    print(memory)
    if skipped:
        print(f"skipped to stay within --time-budget {args.time_budget:.0f} s: {'; '.join(skipped)}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if args.out.suffix == ".json":
            meta = dict(
                device=name,
                torch=torch.__version__,
                batch_size=BATCH_SIZE,
                gemm_flops_per_s=gemm,
                seconds=elapsed,
                argv=sys.argv[1:],
                memory=memory,
                skipped=skipped,
            )
            args.out.write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=1))
        else:
            with args.out.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(asdict(rows[0])))
                writer.writeheader()
                writer.writerows(asdict(r) for r in rows)
        print(f"wrote {args.out}")
    return rows


if __name__ == "__main__":
    main()
