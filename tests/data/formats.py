"""Writers of the data sets' real on-disk formats, for tests that need files the offline set lacks."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np


def write_idx(path: Path, array: np.ndarray, *, compress: bool) -> Path:
    """An IDX file of unsigned bytes (MNIST's format): magic 0x00000803 (ndim in the last byte), big-endian dims."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def write_cifar_batch(path: Path, images: np.ndarray, labels: list[int], *, label_key: str) -> None:
    """A CIFAR python batch: a pickled dict with ``data`` (N x 3072 uint8 rows, R then G then B planes)."""
    entry = {
        "batch_label": path.name,
        "data": images.reshape(len(images), -1),
        label_key: labels,
        "filenames": [f"image_{i:05d}.png" for i in range(len(images))],
    }
    if label_key == "fine_labels":
        entry["coarse_labels"] = [label // 5 for label in labels]
    with open(path, "wb") as handle:
        pickle.dump(entry, handle, protocol=2)


def write_cifar10(root: Path, rng: np.random.Generator, *, per_batch: int = 4, test: int = 6) -> dict[str, np.ndarray]:
    """A small ``cifar-10-batches-py`` folder; returns the images ``[N, 3, 32, 32]`` and labels written per split."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train_images, train_labels = [], []
    for batch in range(1, 6):
        images = rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, per_batch).tolist()
        write_cifar_batch(folder / f"data_batch_{batch}", images, labels, label_key="labels")
        train_images.append(images)
        train_labels += labels
    test_images = rng.integers(0, 256, (test, 3, 32, 32), dtype=np.uint8)
    test_labels = rng.integers(0, 10, test).tolist()
    write_cifar_batch(folder / "test_batch", test_images, test_labels, label_key="labels")
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({"label_names": names, "num_cases_per_batch": per_batch, "num_vis": 3072}, handle, protocol=2)
    return {
        "train_images": np.concatenate(train_images),
        "train_labels": np.array(train_labels),
        "test_images": test_images,
        "test_labels": np.array(test_labels),
    }


def write_cifar100(root: Path, rng: np.random.Generator, *, train: int = 40, test: int = 10) -> dict[str, np.ndarray]:
    """A small ``cifar-100-python`` folder (``train``, ``test``, ``meta``) with fine and coarse labels."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    written = {}
    for split, count in (("train", train), ("test", test)):
        images = rng.integers(0, 256, (count, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 100, count).tolist()
        write_cifar_batch(folder / split, images, labels, label_key="fine_labels")
        written[f"{split}_images"], written[f"{split}_labels"] = images, np.array(labels)
    meta = {
        "fine_label_names": [f"fine_{i:02d}" for i in range(100)],
        "coarse_label_names": [f"coarse_{i:02d}" for i in range(20)],
    }
    with open(folder / "meta", "wb") as handle:
        pickle.dump(meta, handle, protocol=2)
    return written


def nmnist_bytes(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray) -> bytes:
    """N-MNIST's 5-byte events: x, y, then polarity (bit 7) and a 23-bit microsecond timestamp, big-endian."""
    t = np.asarray(t, dtype=np.int64)
    if (t >= 1 << 23).any():
        raise ValueError("timestamps past 2^23 us need overflow events; not written here")
    raw = np.empty((len(x), 5), dtype=np.uint8)
    raw[:, 0] = x
    raw[:, 1] = y
    raw[:, 2] = (np.asarray(p, dtype=np.int64) << 7) | (t >> 16)
    raw[:, 3] = (t >> 8) & 0xFF
    raw[:, 4] = t & 0xFF
    return raw.tobytes()


def write_dvs_gesture(
    root: Path, rng: np.random.Generator, *, users: dict[str, list[str]], labels: range = range(11), events: int = 300
) -> dict[str, np.ndarray]:
    """Tonic's preprocessed DVS Gesture layout: ``<split>/user<NN>_<lighting>/<label>.npy``, int ``[N, 4]`` of x, y, p, t (ms).

    ``users`` maps a split folder (``ibmGestureTrain``) to its subject folders. The recordings are a blob
    moving across the sensor, time-ordered, a few milliseconds per event step. Returns the arrays by path.
    """
    written = {}
    for split, subjects in users.items():
        for subject in subjects:
            folder = root / split / subject
            folder.mkdir(parents=True)
            for label in labels:
                t = np.sort(rng.integers(0, 1500, events))
                centre = 20 + (t * 80) // 1500 + label
                x = np.clip(centre + rng.integers(-3, 4, events), 0, 127)
                y = np.clip(64 + rng.integers(-10, 11, events) + label, 0, 127)
                p = rng.integers(0, 2, events)
                array = np.stack([x, y, p, t], axis=1).astype(np.int64)
                np.save(folder / f"{label}.npy", array)
                written[str(folder / f"{label}.npy")] = array
    return written
