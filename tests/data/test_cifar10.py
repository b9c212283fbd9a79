"""CIFAR-10: the real JPEG copy (extraction, decoding, tensor cache), torchvision's python batches, bad input."""

from __future__ import annotations

import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from snnq.data import CIFAR10DataModule, DataNotFoundError
from snnq.data import cifar10_jpeg
from snnq.data.errors import CorruptFileError, ImageSizeError
from snnq.errors import UnknownNameError

from .formats import write_cifar10

STANDARD_ORDER = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def test_the_jpeg_test_split_is_all_of_cifar10_test(cifar10_jpeg_test):
    images, labels = cifar10_jpeg_test.test_set.images, cifar10_jpeg_test.test_set.labels
    assert images.shape == (10_000, 3, 32, 32) and images.dtype == torch.uint8
    assert torch.bincount(labels).tolist() == [1000] * 10
    mean = (images.double() / 255).mean(dim=(0, 2, 3))
    assert [round(v, 4) for v in mean.tolist()] == [0.4941, 0.4851, 0.4504]  # SOURCE.md
    assert cifar10_jpeg_test.classes == STANDARD_ORDER


def test_results_from_the_jpeg_copy_say_so(cifar10_jpeg_test):
    assert cifar10_jpeg_test.source == "cifar10-jpeg-q75"
    assert cifar10_jpeg_test.resolved_layout() == "jpeg"


def test_decoded_pixels_equal_pillows(cifar10_jpeg_test, cache_dir, cifar10_dir):
    folder = cifar10_jpeg.extract_split(cifar10_dir / cifar10_jpeg.ARCHIVES["test"], "test", cache_dir=cache_dir)
    files = sorted((folder / "cat").glob("*.jpg"))[:5]
    first_cat = STANDARD_ORDER.index("cat") * 1000  # ImageFolder order: class, then file name
    for offset, path in enumerate(files):
        reference = torch.from_numpy(np.asarray(Image.open(path).convert("RGB")).copy()).permute(2, 0, 1)
        assert torch.equal(cifar10_jpeg_test.test_set.images[first_cat + offset], reference)


def test_the_tensor_cache_loads_back_identical_and_fast(cifar10_jpeg_test, cifar10_dir, cache_dir):
    cache_file = cifar10_jpeg.tensor_cache_path(cifar10_dir / cifar10_jpeg.ARCHIVES["test"], "test", cache_dir=cache_dir)
    assert cache_file.is_file()
    start = time.perf_counter()
    again = CIFAR10DataModule(cifar10_dir, cache_dir=cache_dir)
    again.setup("test")
    assert time.perf_counter() - start < 1.0
    assert torch.equal(again.test_set.images, cifar10_jpeg_test.test_set.images)
    assert torch.equal(again.test_set.labels, cifar10_jpeg_test.test_set.labels)
    assert not [p for p in cache_file.parent.iterdir() if p.name.startswith(".tmp-")]


def test_a_damaged_tensor_cache_is_rebuilt(tmp_path):
    _image_folder(tmp_path, 32)
    source = tmp_path / "test"
    first = cifar10_jpeg.load_jpeg_split(source, "test", cache_dir=tmp_path / "cache")
    cache_file = cifar10_jpeg.tensor_cache_path(source, "test", cache_dir=tmp_path / "cache")
    cache_file.write_bytes(b"not a tensor file")
    with pytest.warns(UserWarning, match="unreadable tensor cache"):
        again = cifar10_jpeg.load_jpeg_split(source, "test", cache_dir=tmp_path / "cache")
    assert torch.equal(again[0], first[0]) and torch.equal(again[1], first[1])
    assert torch.load(cache_file, weights_only=True)["images"].shape == (11, 3, 32, 32)  # rewritten


def test_an_interrupted_extraction_leaves_no_cache(tmp_path, monkeypatch):
    _image_folder(tmp_path / "tree", 32)
    archive = tmp_path / "cifar10_test_jpg.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "tree" / "test", arcname="test")
    real_extract = cifar10_jpeg._extract

    def interrupted(archive: Path, destination: Path) -> None:
        (destination / "test" / "cat").mkdir(parents=True)
        (destination / "test" / "cat" / "0000.jpg").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(cifar10_jpeg, "_extract", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cifar10_jpeg.extract_split(archive, "test", cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache" / cifar10_jpeg.SOURCE).iterdir()) == []  # neither the target nor a temporary
    monkeypatch.setattr(cifar10_jpeg, "_extract", real_extract)
    folder = cifar10_jpeg.extract_split(archive, "test", cache_dir=tmp_path / "cache")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.jpg")) == sorted(
        p.relative_to(tmp_path / "tree" / "test").as_posix() for p in (tmp_path / "tree" / "test").rglob("*.jpg")
    )


def test_an_archive_member_outside_its_folder_is_refused(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    (tmp_path / "x.jpg").write_bytes(b"x")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "x.jpg", arcname="../x.jpg")
    with pytest.raises(CorruptFileError, match=r"evil\.tar\.gz: holds a member outside the archive's folder: '\.\./x\.jpg'"):
        cifar10_jpeg.extract_split(archive, "test", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "x.jpg").exists()


def test_a_truncated_archive_is_named(cifar10_dir, tmp_path):
    broken = tmp_path / "data" / cifar10_jpeg.ARCHIVES["test"]
    broken.parent.mkdir()
    broken.write_bytes((cifar10_dir / cifar10_jpeg.ARCHIVES["test"]).read_bytes()[:500_000])
    with pytest.raises(CorruptFileError, match=r"cifar10_test_jpg\.tar\.gz: cannot be extracted"):
        cifar10_jpeg.extract_split(broken, "test", cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache" / cifar10_jpeg.SOURCE).iterdir()) == []


def _image_folder(root: Path, size: int) -> Path:
    for label in STANDARD_ORDER:
        (root / "test" / label).mkdir(parents=True)
        Image.new("RGB", (32, 32), (10, 20, 30)).save(root / "test" / label / "0000.jpg", quality=75)
    odd = root / "test" / "dog" / "0001.jpg"
    Image.new("RGB", (size, size), (1, 2, 3)).save(odd, quality=75)
    return odd


def test_a_jpeg_of_the_wrong_size_is_named(tmp_path):
    odd = _image_folder(tmp_path, 28)
    with pytest.raises(ImageSizeError, match=rf"{odd}: expected images of shape \[3, 32, 32\] \(C, H, W\), got \[3, 28, 28\]"):
        cifar10_jpeg.load_jpeg_split(tmp_path / "test", "test", cache_dir=tmp_path / "cache")


def test_an_undecodable_jpeg_is_named(tmp_path):
    odd = _image_folder(tmp_path, 32)
    odd.write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(CorruptFileError, match=rf"{odd}: is not a decodable JPEG"):
        cifar10_jpeg.load_jpeg_split(tmp_path / "test", "test", cache_dir=tmp_path / "cache", tensor_cache=False)


def test_an_extracted_image_folder_works_without_the_archive(tmp_path):
    _image_folder(tmp_path, 32)
    images, labels = cifar10_jpeg.load_jpeg_split(tmp_path / "test", "test", cache_dir=tmp_path / "cache")
    assert images.shape == (11, 3, 32, 32) and labels.tolist() == [0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9]


def test_torchvision_python_batches_are_preferred_and_read_exactly(tmp_path):
    written = write_cifar10(tmp_path, np.random.default_rng(0))
    dm = CIFAR10DataModule(tmp_path, cache_dir=tmp_path / "cache", val_fraction=0.25, seed=3)
    assert dm.source == "cifar10-python"
    dm.setup()
    assert torch.equal(dm.test_set.images, torch.from_numpy(written["test_images"]))
    assert dm.test_set.labels.tolist() == written["test_labels"].tolist()
    together = torch.cat([dm.train_set.images, dm.val_set.images])
    assert len(dm.train_set) == 15 and len(dm.val_set) == 5
    rows = {bytes(image.numpy().tobytes()) for image in together}
    assert rows == {bytes(image.tobytes()) for image in written["train_images"]}
    assert dm.classes == STANDARD_ORDER


def test_a_corrupt_pickle_batch_is_named(tmp_path):
    write_cifar10(tmp_path, np.random.default_rng(0))
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"\x80\x02garbage")
    dm = CIFAR10DataModule(tmp_path, cache_dir=tmp_path / "cache")
    with pytest.raises(CorruptFileError, match=r"data_batch_3: is not a readable CIFAR pickle batch"):
        dm.setup("fit")


def test_md5_verification_is_optional_and_named(tmp_path):
    write_cifar10(tmp_path, np.random.default_rng(0))
    dm = CIFAR10DataModule(tmp_path, cache_dir=tmp_path / "cache", verify_md5=True)
    with pytest.raises(CorruptFileError, match=r"data_batch_1: does not have torchvision's MD5"):
        dm.setup("test")


def test_missing_data_lists_both_layouts(tmp_path):
    dm = CIFAR10DataModule(tmp_path)
    with pytest.raises(DataNotFoundError) as caught:
        dm.setup("test")
    message = str(caught.value)
    for expected in ("cifar-10-batches-py/data_batch_1", "batches.meta", "cifar10_train_jpg.tar.gz", "download=True"):
        assert expected in message


def test_an_unknown_layout_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match=r"unknown CIFAR-10 layout 'jpg' \(did you mean 'jpeg'\?\); valid: auto, jpeg, python"):
        CIFAR10DataModule("x", layout="jpg")


def test_training_batches_are_augmented_and_evaluation_batches_are_not(cifar10_jpeg_test):
    images = cifar10_jpeg_test.test_set.images[:64]
    labels = cifar10_jpeg_test.test_set.labels[:64]
    plain, _ = cifar10_jpeg_test.prepare_batch((images, labels), train=False)
    mean = torch.tensor(CIFAR10DataModule.mean).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10DataModule.std).view(1, 3, 1, 1)
    assert torch.equal(plain, (images.float() / 255 - mean) / std)
    augmented, _ = cifar10_jpeg_test.prepare_batch((images, labels), train=True)
    assert augmented.shape == plain.shape and not torch.equal(augmented, plain)


@pytest.mark.slow
def test_the_jpeg_train_split_is_all_of_cifar10_train(cifar10_dir, cache_dir):
    dm = CIFAR10DataModule(cifar10_dir, cache_dir=cache_dir, val_fraction=0.0)
    dm.setup("fit")
    assert dm.train_set.images.shape == (50_000, 3, 32, 32)
    assert torch.bincount(dm.train_set.labels).tolist() == [5000] * 10
    assert len(dm.val_set) == 0 and dm.val_dataloader() == []
