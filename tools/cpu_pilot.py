"""Pilot for a `cpu` scale that can test the paper's claims on a 2-core machine (issue 23).

For each candidate design (a CIFAR-100 label set, training-set size, image size, network and epochs) it trains, with
the kdfidelity library's own `fit`, one teacher on the labels and one self-distilled Baseline student (same network,
tau = 4, alpha = 0, crop+flip seen identically by teacher and student, a different seed), and records:

- the per-epoch history of both runs (`fit`'s records: loss, running train accuracy/agreement, lr, seconds, and the
  test metrics every 10% of the epochs);
- the student's exact train agreement (top-1 agreement with its teacher on the unaugmented distillation images, both in
  eval mode) every 5% of the epochs, measured from `fit`'s `on_epoch` callback;
- the teacher's final test and train accuracy (unaugmented train images) and its tau = 4 predictive entropy as a
  fraction of ln C (mean over test images of H(softmax(logits / 4)) / ln C);
- wall time and images per second of one single-threaded worker, and whether each gate of issue 23 is met:
  teacher test accuracy >= 50%, train accuracy >= 90%, entropy fraction <= 80%; the student's exact train agreement
  moves less than 1 point over the last 20% of its epochs.

The data preparation is the script's own: a class subset relabelled 0..k-1 (one fine class from each of k superclasses),
the 20 coarse labels (read from the CIFAR-100 pickle), average pooling to 16 x 16, and a crop padding scaled with the
image (4 pixels at 32 x 32, 2 at 16 x 16). The library has since gained the same options (`DataSpec(classes=...,
coarse=..., image_size=...)`, which draw the same ten classes for seed 0); the script keeps its own so that its
committed results reproduce exactly: it normalises each subset by that subset's own statistics, where the library keeps
the whole dataset's. Everything else (subsets, models, initialisation, augmentation, training, metrics) is the
library's.

Run it single-threaded and niced, in the background (each candidate is skipped once its `result.json` exists, and an
interrupted run resumes from its last checkpoint):

    nohup nice -n 19 python tools/cpu_pilot.py >> nbs/results/cpu_pilot/pilot.log 2>&1 &
    python tools/cpu_pilot.py --candidates A B          # only some candidates
    python tools/cpu_pilot.py --tiny --out /tmp/pilot   # 2 epochs on a few images: checks that the script works

Results go to `nbs/results/cpu_pilot/` (`--out`): per candidate `<name>/result.json`, `<name>/history.csv`, the
incremental `<name>/{teacher,student}_epochs.jsonl` and the teacher's weights `<name>/teacher.pt`; one row per finished
candidate in `summary.csv`. Data: CIFAR-100 from `$KDFIDELITY_DATA_DIR` (default `../shared/data`).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)  # one single-threaded worker: the unit a cpu-scale grid is planned in
torch.set_num_interop_threads(1)

from kdfidelity.data import ImageDataset, channel_stats, load_dataset, stratified_subset  # noqa: E402
from kdfidelity.metrics import accuracy, predict_logits  # noqa: E402
from kdfidelity.models import build_model  # noqa: E402
from kdfidelity.train import TrainConfig, fit, seeded_init, train_agreement, with_normalization  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA_SEED, TEACHER_SEED, STUDENT_SEED = 0, 0, 1
GRID_BUDGET_WORKER_MIN = 2.5 * 60 * 2  # ~2.5 h on 2 single-threaded workers, per paper figure


@dataclass(frozen=True)
class Design:
    "One candidate `cpu` scale: which labels and images, how big, which network, how long."

    name: str
    labels: str  # "fine10": one fine class from each of 10 superclasses | "coarse20" | "fine100"
    train_size: int | None = None  # stratified subset of the train images of those labels (None: all of them)
    test_size: int | None = None  # stratified subset of the test images (None: all of them)
    image_size: int = 16  # 32 (CIFAR's own) or an average-pooled 16
    model: str = "preresnet8"
    epochs: int = 100
    init: str = "he"  # "he": the library's (reference) init | "torch": PyTorch's default init
    norm: str = "batch"  # the PreResNet's normalisation: "batch" or "layer" (Section 6.2's LayerNorm ResNets)
    student: bool = True  # also distil a student (False: the teacher only)
    note: str = ""


CANDIDATES = {
    d.name: d
    for d in [  # in the order they run: A and B first, the cheap init check, then the rest
        Design("A", "fine10", note="10 fine classes (one per superclass), all 500/100 images each, 16x16"),
        Design(
            "B",
            "coarse20",
            train_size=10_000,
            note="20 coarse labels, stratified 10k train (500 per coarse class), full 10k test, 16x16",
        ),
        Design("A_torchinit", "fine10", init="torch", student=False, note="A's teacher with PyTorch's default init"),
        Design(
            "C",
            "fine100",
            train_size=25_000,  # ~3,100 img/s measured for a PreResNet-8 teacher at 16x16: ~13.5 min
            note="100 fine classes, stratified 25k train (250 per class), full 10k test, 16x16",
        ),
        Design(
            "D_res20", "fine10", model="preresnet20", note="A with PreResNet-20 (does depth buy fidelity headroom?)"
        ),
        Design("D_32px", "fine10", image_size=32, note="A at 32x32 (does resolution buy fidelity headroom?)"),
        Design("A_layernorm", "fine10", norm="layer", note="A with LayerNorm (the networks of Section 6.2)"),
        Design(
            "A_layernorm_200",
            "fine10",
            norm="layer",
            epochs=200,
            student=False,
            note="A_layernorm's teacher trained 200 epochs (does it then fit its data?)",
        ),
        Design(
            "D_res20_layernorm",
            "fine10",
            model="preresnet20",
            norm="layer",
            student=False,
            note="D_res20's teacher with LayerNorm",
        ),
    ]
}


# --- data preparation the library does not offer ---------------------------------------------------------------------


def coarse_labels(data_dir: Path, split: str) -> torch.Tensor:
    "The 20 CIFAR-100 superclass labels of `split`, in the order `load_dataset('cifar100', split)` holds the images."
    with open(data_dir / "cifar-100-python" / split, "rb") as f:
        return torch.tensor(pickle.load(f, encoding="latin1")["coarse_labels"], dtype=torch.int64)


def relabelled(data: ImageDataset, labels: torch.Tensor, num_classes: int, name: str) -> ImageDataset:
    "`data` with new `labels` (one per image), keeping only images whose new label is >= 0."
    keep = torch.nonzero(labels >= 0).flatten()
    images = data.images[keep]
    return ImageDataset(images, labels[keep], num_classes, *channel_stats(images), name=name)


def pooled(data: ImageDataset, size: int) -> ImageDataset:
    "`data` average-pooled to `size` x `size` (rounded back to uint8)."
    factor = data.image_shape[-1] // size
    if factor == 1:
        return data
    images = F.avg_pool2d(data.images.float(), factor).round().clamp(0, 255).to(torch.uint8)
    return ImageDataset(images, data.labels, data.num_classes, *channel_stats(images), name=f"{data.name}@{size}px")


def prepare(design: Design, data_dir: Path) -> tuple[ImageDataset, ImageDataset, dict]:
    "Train and test sets of `design`, and a description of what was chosen."
    train, test = (load_dataset("cifar100", split, data_dir=data_dir, download=False) for split in ("train", "test"))
    info = {}
    if design.labels == "fine10":  # one fine class from each of 10 superclasses, drawn with DATA_SEED
        coarse = coarse_labels(data_dir, "train")
        fine_to_coarse = {int(f): int(c) for f, c in zip(train.labels, coarse)}
        rng = np.random.default_rng(DATA_SEED)
        superclasses = sorted(rng.choice(20, size=10, replace=False).tolist())
        chosen = [int(rng.choice(sorted(f for f, c in fine_to_coarse.items() if c == s))) for s in superclasses]
        new = torch.full((100,), -1, dtype=torch.int64)
        new[chosen] = torch.arange(len(chosen))
        train, test = (
            relabelled(d, new[d.labels], len(chosen), f"cifar100/fine10/{split}")
            for d, split in ((train, "train"), (test, "test"))
        )
        with open(data_dir / "cifar-100-python" / "meta", "rb") as f:
            names = pickle.load(f, encoding="latin1")["fine_label_names"]
        info.update(fine_classes=chosen, class_names=[names[c] for c in chosen], superclasses=superclasses)
    elif design.labels == "coarse20":
        train, test = (
            relabelled(d, coarse_labels(data_dir, split), 20, f"cifar100/coarse20/{split}")
            for d, split in ((train, "train"), (test, "test"))
        )
    elif design.labels != "fine100":
        raise ValueError(f"unknown label set {design.labels!r}")
    if design.train_size is not None:
        train = stratified_subset(train, design.train_size, seed=DATA_SEED)
    if design.test_size is not None:
        test = stratified_subset(test, design.test_size, seed=DATA_SEED)
    train, test = pooled(train, design.image_size), pooled(test, design.image_size)
    info.update(
        num_classes=train.num_classes,
        train_size=len(train),
        test_size=len(test),
        image_shape=list(train.image_shape),
        crop_padding=crop_padding(design),
    )
    return train, test, info


def crop_padding(design: Design) -> int:
    "The Baseline policy's crop padding, scaled with the image: 4 pixels at 32 x 32 (the paper's), 2 at 16 x 16."
    return max(1, round(4 * design.image_size / 32))


# --- training with the library ---------------------------------------------------------------------------------------


def network(design: Design, num_classes: int, seed: int) -> torch.nn.Module:
    "The design's network, initialised from `seed` by the library's init, or by PyTorch's default for `init='torch'`."

    def build():
        model = build_model(design.model, num_classes, norm=design.norm)
        if design.init == "torch":  # PreResNet's he_init_ only touches convolutions and norms; undo it there
            for m in model.modules():
                if isinstance(m, (torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.GroupNorm, torch.nn.LayerNorm)):
                    m.reset_parameters()
        return model

    return seeded_init(build, seed)


def config(design: Design, seed: int, **changes) -> TrainConfig:
    "The library's default (paper CIFAR) settings with the design's epochs and crop padding."
    return TrainConfig(
        epochs=design.epochs,
        augmentation="baseline",
        augmentation_options={"padding": crop_padding(design)},
        eval_every=max(1, design.epochs // 10),
        seed=seed,
        **changes,
    )


class EpochLog:
    "Appends each epoch's record to a JSONL file (and prints a line), so progress survives an interruption."

    def __init__(self, path: Path, role: str, epochs: int, extra=None):
        self.path, self.role, self.epochs, self.extra, self.began = path, role, epochs, extra, time.time()

    def __call__(self, record: dict):
        if self.extra is not None:
            record.update(self.extra(record["epoch"]))
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        shown = {k: v for k, v in record.items() if k not in ("epoch", "lr", "seconds")}
        print(
            f"  {self.role} epoch {record['epoch']}/{self.epochs} {record['seconds']:.1f}s "
            + " ".join(f"{k}={v:.4f}" for k, v in shown.items()),
            flush=True,
        )

    def records(self) -> dict[int, dict]:
        "The logged records by epoch (the last one of an epoch that was redone after a resume)."
        if not self.path.exists():
            return {}
        return {r["epoch"]: r for r in map(json.loads, self.path.read_text().splitlines())}


def entropy_fraction(logits: torch.Tensor, tau: float = 4.0) -> float:
    "Mean entropy of softmax(logits / tau) over the rows, as a fraction of ln C."
    log_p = F.log_softmax(logits.double() / tau, dim=-1)
    return (-(log_p.exp() * log_p).sum(-1).mean() / math.log(logits.shape[-1])).item()


def run_design(design: Design, data_dir: Path, out: Path) -> dict:
    "Train the design's teacher (and student), write its files under `out/<name>/`, and return its result."
    folder = out / design.name
    folder.mkdir(parents=True, exist_ok=True)
    began = time.time()
    train, test, info = prepare(design, data_dir)
    print(f"[{design.name}] {design.note}: {info}", flush=True)
    result = {"design": dataclasses.asdict(design), "data": info, "torch": torch.__version__, "threads": 1}

    # teacher: the labels, crop+flip
    t_config = config(design, TEACHER_SEED)
    teacher = network(design, train.num_classes, TEACHER_SEED)
    t_log = EpochLog(folder / "teacher_epochs.jsonl", "teacher", design.epochs)
    t_began = time.time()
    t_fit = fit(
        teacher,
        train,
        t_config,
        test_data=test,
        checkpoint_path=folder / "teacher.ckpt",
        checkpoint_every=5,
        progress=False,
        on_epoch=t_log,
    )
    t_wall = time.time() - t_began
    torch.save(teacher.state_dict(), folder / "teacher.pt")
    train_n, test_n = (with_normalization(d, t_config.normalization) for d in (train, test))
    test_logits = predict_logits(teacher, test_n)
    t_seconds = sum(r["seconds"] for r in t_fit.history)
    result["teacher"] = dict(
        config=t_config.to_dict(),
        test_accuracy=accuracy(test_logits, test_n.labels),
        train_accuracy=accuracy(predict_logits(teacher, train_n), train_n.labels),
        entropy_fraction_tau4=entropy_fraction(test_logits),
        final=t_fit.final,
        train_seconds=t_seconds,
        wall_seconds_this_call=t_wall,
        images_per_second=len(train) * design.epochs / t_seconds,
        seconds_per_epoch=t_seconds / design.epochs,
    )
    t = result["teacher"]
    print(
        f"[{design.name}] teacher: test {t['test_accuracy']:.4f} train {t['train_accuracy']:.4f} "
        f"entropy {t['entropy_fraction_tau4']:.3f} of ln C, {t['seconds_per_epoch']:.2f} s/epoch, "
        f"{t['images_per_second']:.0f} img/s",
        flush=True,
    )
    histories = [dict(role="teacher", **r) for r in t_fit.history]

    if design.student:  # Baseline self-distillation: tau 4, alpha 0, the same augmented batch for both
        s_config = config(design, STUDENT_SEED, tau=4.0, alpha=0.0)
        student = network(design, train.num_classes, STUDENT_SEED)
        every = max(1, design.epochs // 20)

        def exact(epoch: int) -> dict:  # `fit` trains this very `student` object, so it can be scored here
            if epoch % every and epoch != design.epochs:
                return {}
            return {"exact_train_agreement": train_agreement(student, teacher, train_n, None, STUDENT_SEED)}

        s_log = EpochLog(folder / "student_epochs.jsonl", "student", design.epochs, extra=exact)
        s_began = time.time()
        s_fit = fit(
            student,
            train,
            s_config,
            teacher=teacher,
            test_data=test,
            checkpoint_path=folder / "student.ckpt",
            checkpoint_every=5,
            progress=False,
            on_epoch=s_log,
        )
        s_wall = time.time() - s_began
        logged = s_log.records()
        series = {e: logged[e]["exact_train_agreement"] for e in sorted(logged) if "exact_train_agreement" in logged[e]}
        series[design.epochs] = train_agreement(student, teacher, train_n, None, STUDENT_SEED)  # the final network's
        late = [a for e, a in series.items() if e >= 0.8 * design.epochs]
        s_seconds = sum(r["seconds"] for r in s_fit.history)
        result["student"] = dict(
            config=s_config.to_dict(),
            final=s_fit.final,
            exact_train_agreement=series,
            last20_change=late[-1] - late[0],
            last20_range=max(late) - min(late),
            train_seconds=s_seconds,
            wall_seconds_this_call=s_wall,
            images_per_second=len(train) * design.epochs / s_seconds,
            seconds_per_epoch=s_seconds / design.epochs,
        )
        s = result["student"]
        print(
            f"[{design.name}] student: exact train agreement "
            + " ".join(f"{e}:{a:.3f}" for e, a in series.items())
            + f"; test agreement {s['final']['agreement']:.4f}, {s['seconds_per_epoch']:.2f} s/epoch",
            flush=True,
        )
        histories += [
            dict(role="student", **r, **({"exact_train_agreement": series[r["epoch"]]} if r["epoch"] in series else {}))
            for r in s_fit.history
        ]

    result["gates"] = gates(result)
    minutes = (t_seconds + result["student"]["train_seconds"]) / 60 if design.student else None  # training only
    result["cost"] = dict(
        teacher_minutes=t_seconds / 60,
        teacher_plus_student_minutes=minutes,
        pairs_per_grid_budget=GRID_BUDGET_WORKER_MIN / minutes if minutes else None,
        total_wall_seconds_this_call=time.time() - began,
    )
    write_history(folder / "history.csv", histories)
    (folder / "result.json").write_text(json.dumps(result, indent=1))
    for ckpt in ("teacher.ckpt", "student.ckpt"):
        (folder / ckpt).unlink(missing_ok=True)
    print(f"[{design.name}] done: gates {result['gates']}, cost {result['cost']}", flush=True)
    return result


def gates(result: dict) -> dict:
    "Which of issue 23's gates the design meets."
    t, s = result["teacher"], result.get("student")
    g = dict(
        teacher_test_ge_50=t["test_accuracy"] >= 0.5,
        teacher_train_ge_90=t["train_accuracy"] >= 0.9,
        entropy_le_80=t["entropy_fraction_tau4"] <= 0.8,
    )
    if s is not None:
        g["student_flat_last20"] = s["last20_range"] < 0.01
    return g


def write_history(path: Path, rows: list[dict]):
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def write_summary(out: Path):
    "One row per finished candidate: the gate metrics and costs."
    rows = []
    for path in sorted(out.glob("*/result.json")):
        r = json.loads(path.read_text())
        t, s = r["teacher"], r.get("student", {})
        agree = s.get("exact_train_agreement", {})
        rows.append(
            dict(
                name=r["design"]["name"],
                note=r["design"]["note"],
                classes=r["data"]["num_classes"],
                train_size=r["data"]["train_size"],
                test_size=r["data"]["test_size"],
                image_size=r["design"]["image_size"],
                model=r["design"]["model"],
                norm=r["design"].get("norm", "batch"),
                init=r["design"]["init"],
                epochs=r["design"]["epochs"],
                teacher_test=t["test_accuracy"],
                teacher_train=t["train_accuracy"],
                entropy_fraction=t["entropy_fraction_tau4"],
                student_train_agreement=agree[max(agree, key=int)] if agree else None,
                student_test_agreement=s.get("final", {}).get("agreement"),
                student_test_accuracy=s.get("final", {}).get("accuracy"),
                last20_range=s.get("last20_range"),
                teacher_s_per_epoch=t["seconds_per_epoch"],
                student_s_per_epoch=s.get("seconds_per_epoch"),
                teacher_img_per_s=t["images_per_second"],
                student_img_per_s=s.get("images_per_second"),
                pair_minutes=r["cost"]["teacher_plus_student_minutes"],
                all_gates=all(r["gates"].values()),
            )
        )
    if rows:
        write_history(out / "summary.csv", rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", nargs="*", default=list(CANDIDATES), help="names, in the order to run them")
    parser.add_argument("--out", type=Path, default=ROOT / "nbs/results/cpu_pilot")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("KDFIDELITY_DATA_DIR", ROOT.parent / "shared/data"))
    )
    parser.add_argument(
        "--tiny", action="store_true", help="2 epochs on 200 train / 100 test images: a check of the script"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.candidates:
        design = CANDIDATES[name]
        if args.tiny:
            design = dataclasses.replace(design, train_size=200, test_size=100, epochs=2)
        if (args.out / name / "result.json").exists():
            print(f"[{name}] already done, skipped", flush=True)
            continue
        print(f"[{name}] start {time.strftime('%Y-%m-%d %H:%M:%S')}", flush=True)
        try:
            run_design(design, args.data_dir, args.out)
        except Exception as e:  # report it, and go on with the next candidate
            print(f"[{name}] FAILED: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            import traceback

            traceback.print_exc()
        write_summary(args.out)
    print(f"all done {time.strftime('%Y-%m-%d %H:%M:%S')}", flush=True)


if __name__ == "__main__":
    main()
