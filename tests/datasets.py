"""Small datasets written in the on-disk layouts that `kdfidelity.data` reads, for tests that need files but no network.

    from datasets import write_mnist, write_emnist, write_cifar100, write_cifar10_test
    root = write_mnist(tmp_path, n_train=200, n_test=50)      # root/MNIST/raw/*-ubyte
    train = load_dataset("mnist", "train", data_dir=root)

The images can be learnt: each class has one fixed pattern of bright 4 x 4 blocks (the same in every file, split and
seed: `class_patterns`), drawn at 160-255 over dim noise (0-95), so a LeNet-5 fits them within a few epochs and
classes are told apart by a nearest-class-mean rule on the pixels alone. Labels are balanced over the classes and
shuffled; `seed` draws the labels and the noise. Like any small file set, these load with warnings that their size
and statistics are not the published dataset's.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

PATTERN_SEED = 20210601  # fixes every class's pattern; `seed` never changes them
BLOCK = 4  # side of a pattern's blocks, in pixels
BRIGHT, NOISE = 160, 96  # a pattern pixel is BRIGHT + noise, any other pixel noise alone; noise in [0, NOISE)


def class_patterns(num_classes: int, shape: tuple[int, int, int]) -> np.ndarray:
    "Each class's pattern as booleans num_classes x C x H x W: about 30% of the image's 4 x 4 blocks, drawn once."
    c, h, w = shape
    on = np.random.default_rng(PATTERN_SEED).random((num_classes, c, -(-h // BLOCK), -(-w // BLOCK))) < 0.3
    return on.repeat(BLOCK, axis=2).repeat(BLOCK, axis=3)[:, :, :h, :w]


def learnable_images(
    labels: np.ndarray, num_classes: int, shape: tuple[int, int, int], rng: np.random.Generator
) -> np.ndarray:
    "uint8 images N x C x H x W: each label's pattern, bright over noise."
    bright = class_patterns(num_classes, shape)[labels]
    return (rng.integers(0, NOISE, (len(labels), *shape)) + BRIGHT * bright).astype(np.uint8)


def _splits(n_train: int, n_test: int, num_classes: int, shape: tuple[int, int, int], seed: int):
    "(split, images, labels) for train and test: balanced, shuffled labels and their images."
    for split, n in (("train", n_train), ("test", n_test)):
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"n_{split} = {n!r} must be a non-negative integer")
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        labels = rng.permutation(np.arange(n) % num_classes)
        yield split, learnable_images(labels, num_classes, shape, rng), labels


def write_idx(path: Path, array: np.ndarray):
    "`array` as an uncompressed idx file (MNIST's format): a big-endian header of type, rank and sizes, then bytes."
    array = np.ascontiguousarray(array, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.tobytes())


def write_mnist(root: Path | str, n_train: int, n_test: int, seed: int = 0) -> Path:
    "MNIST's four idx files (10 classes, 28 x 28) in `root/MNIST/raw`, the layout `load_mnist` reads; returns `root`."
    raw = Path(root) / "MNIST" / "raw"
    for split, images, labels in _splits(n_train, n_test, 10, (1, 28, 28), seed):
        prefix = "train" if split == "train" else "t10k"
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images[:, 0])
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return Path(root)


def write_emnist(root: Path | str, n_train: int, n_test: int, seed: int = 0) -> Path:
    """EMNIST byclass idx files (62 classes, 28 x 28) in `root/EMNIST/raw`, as `load_emnist` reads; returns `root`.

    Each image is stored transposed, as NIST's files store them, so `load_emnist` returns it upright: the loaded
    images show `class_patterns(62, (1, 28, 28))` as drawn."""
    raw = Path(root) / "EMNIST" / "raw"
    for split, images, labels in _splits(n_train, n_test, 62, (1, 28, 28), seed):
        write_idx(raw / f"emnist-byclass-{split}-images-idx3-ubyte", images[:, 0].transpose(0, 2, 1))
        write_idx(raw / f"emnist-byclass-{split}-labels-idx1-ubyte", labels)
    return Path(root)


def write_cifar100(root: Path | str, n_train: int, n_test: int, seed: int = 0) -> Path:
    """CIFAR-100's `train`, `test` and `meta` pickles (100 classes, 3 x 32 x 32) in `root/cifar-100-python`.

    Returns `root`. The dicts have the archive's keys: `data` (N x 3072 uint8, the R, G, B planes), `fine_labels`,
    `coarse_labels` (here simply fine // 5, not CIFAR's table), `filenames` and `batch_label`."""
    folder = Path(root) / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    for split, images, labels in _splits(n_train, n_test, 100, (3, 32, 32), seed):
        batch = {
            "data": images.reshape(len(images), -1),
            "fine_labels": labels.tolist(),
            "coarse_labels": (labels // 5).tolist(),
            "filenames": [f"generated_{i}.png" for i in range(len(labels))],
            "batch_label": f"generated {split} batch",
        }
        (folder / split).write_bytes(pickle.dumps(batch))
    meta = {
        "fine_label_names": [f"class_{i}" for i in range(100)],
        "coarse_label_names": [f"group_{i}" for i in range(20)],
    }
    (folder / "meta").write_bytes(pickle.dumps(meta))
    return Path(root)


def write_cifar10_test(root: Path | str, n_test: int, seed: int = 0) -> Path:
    """CIFAR-10's `test_batch` and `batches.meta` pickles (10 classes, 3 x 32 x 32) in `root/cifar-10-batches-py`, no
    train batches.

    Returns `root`: the layout of `../shared/data`, whose CIFAR-10 is the test split alone (an OOD pool)."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    _, (_, images, labels) = _splits(0, n_test, 10, (3, 32, 32), seed)
    batch = {
        "data": images.reshape(len(images), -1),
        "labels": labels.tolist(),
        "filenames": [f"generated_{i}.png" for i in range(len(labels))],
        "batch_label": "generated test batch",
    }
    (folder / "test_batch").write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"class_{i}" for i in range(10)]}))
    return Path(root)
