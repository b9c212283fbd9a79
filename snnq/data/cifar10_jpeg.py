"""CIFAR-10 re-encoded as JPEG in the ImageFolder layout: atomic extraction, one-time decoding, a uint8 tensor cache.

The offline copy of CIFAR-10 is two archives, ``cifar10_train_jpg.tar.gz`` and ``cifar10_test_jpg.tar.gz``,
holding ``train/<class>/NNNN.jpg`` and ``test/<class>/NNNN.jpg`` (JPEG quality 75: lossy, mean absolute
error about 6/255 against the original pixels). An archive is extracted once into the cache (to a temporary
folder renamed into place, so an interrupted run leaves no half-extracted tree), its images are decoded once
into one uint8 tensor file, and later runs load that file in well under a second. Results computed from this
copy must say so: they carry `SOURCE`.
"""

from __future__ import annotations

import tarfile
import warnings
import zlib
from pathlib import Path, PurePosixPath
from types import MappingProxyType

import numpy as np
import torch
from torch import Tensor

from snnq.data.cache import atomic_directory, atomic_path, file_sha256, stable_hash
from snnq.data.errors import CorruptFileError, ImageSizeError

SOURCE = "cifar10-jpeg-q75"
SPLITS = ("train", "test")
ARCHIVES = MappingProxyType({"train": "cifar10_train_jpg.tar.gz", "test": "cifar10_test_jpg.tar.gz"})
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SHAPE = (3, 32, 32)
CACHE_FORMAT = 1


def find_jpeg_split(data_dir: str | Path, split: str) -> Path | None:
    """``data_dir/cifar10_<split>_jpg.tar.gz``, else an extracted ``data_dir/<split>/`` folder, else None."""
    data_dir = Path(data_dir)
    if (data_dir / ARCHIVES[split]).is_file():
        return data_dir / ARCHIVES[split]
    if (data_dir / split).is_dir():
        return data_dir / split
    return None


def extract_split(archive: str | Path, split: str, *, cache_dir: str | Path) -> Path:
    """The ImageFolder root ``<cache>/.../<split>`` of ``archive``, extracted on the first call only, atomically."""
    archive = Path(archive)
    destination = Path(cache_dir) / SOURCE / f"extracted-{split}-{file_sha256(archive)[:16]}"

    def fill(temporary: Path) -> None:
        try:
            _extract(archive, temporary)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
            raise CorruptFileError(archive, f"cannot be extracted ({type(error).__name__}: {error})") from error
        if not (temporary / split).is_dir():
            raise CorruptFileError(archive, f"has no top-level {split}/ folder")

    return atomic_directory(destination, fill) / split


def _extract(archive: Path, destination: Path) -> None:
    """Extracts the folders and regular files of ``archive`` (nothing else) below ``destination``.

    The same safety as tarfile's ``data`` filter (no absolute paths, no ``..``, no links or devices), checked
    once per member; about twice as fast as ``extractall(filter="data")``, which resolves every path.
    """
    made: set[Path] = set()
    with tarfile.open(archive) as tar:
        for member in tar:
            parts = PurePosixPath(member.name).parts
            if not parts or PurePosixPath(member.name).is_absolute() or ".." in parts:
                raise CorruptFileError(archive, f"holds a member outside the archive's folder: {member.name!r}")
            target = destination.joinpath(*parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                made.add(target)
            elif member.isfile():
                if target.parent not in made:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    made.add(target.parent)
                source = tar.extractfile(member)
                assert source is not None
                with source, open(target, "wb") as out:
                    out.write(source.read())
            else:
                raise CorruptFileError(archive, f"holds {member.name!r}, which is neither a folder nor a file")


def decode_image_folder(folder: str | Path, *, chunk: int = 4096) -> tuple[Tensor, Tensor]:
    """Decodes every JPEG of an ImageFolder tree with the CIFAR-10 classes into ``(uint8 [N, 3, 32, 32], labels [N])``.

    Order: torchvision's ImageFolder order (classes alphabetically, which is CIFAR-10's standard class order,
    then file names). A file that does not decode raises `CorruptFileError`, an image that is not 3x32x32
    raises `ImageSizeError`, both naming the file. Decoding uses torchvision's batched libjpeg decoder where
    this torchvision still has it, else Pillow (the same pixels, about three times slower).
    """
    from torchvision.datasets import ImageFolder
    from tqdm.auto import tqdm

    folder = Path(folder)
    listing = ImageFolder(str(folder))
    if tuple(listing.classes) != CLASSES:
        raise CorruptFileError(folder, f"has class folders {listing.classes}; expected {list(CLASSES)}")
    images = torch.empty((len(listing.samples), *IMAGE_SHAPE), dtype=torch.uint8)
    with tqdm(total=len(listing.samples), desc=f"decoding {folder.name} JPEGs", unit="img", disable=None) as bar:
        for start in range(0, len(listing.samples), chunk):
            paths = [path for path, _ in listing.samples[start : start + chunk]]
            for offset, (path, image) in enumerate(zip(paths, _decode(paths))):
                if tuple(image.shape) != IMAGE_SHAPE:
                    raise ImageSizeError(path, IMAGE_SHAPE, tuple(image.shape))
                images[start + offset] = image
            bar.update(len(paths))
    return images, torch.tensor(listing.targets, dtype=torch.long)


def _decode(paths: list[str]) -> list[Tensor]:
    """RGB uint8 ``[3, H, W]`` of each JPEG file."""
    try:
        from torchvision.io import ImageReadMode, decode_jpeg
    except ImportError:  # a torchvision past the removal of its image codecs
        return [_decode_with_pillow(path) for path in paths]
    raw = [torch.frombuffer(bytearray(Path(path).read_bytes()), dtype=torch.uint8) for path in paths]
    with warnings.catch_warnings():  # torchvision 0.29 deprecates its codecs; they stay the fast path while they exist
        warnings.filterwarnings(
            "ignore", message="The image decoding and encoding capabilities", category=DeprecationWarning
        )
        try:
            return decode_jpeg(raw, mode=ImageReadMode.RGB)
        except RuntimeError:  # one bad file fails the batch: decode one by one to name it
            return [_decode_with_pillow(path) for path in paths]


def _decode_with_pillow(path: str) -> Tensor:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError) as error:
        raise CorruptFileError(path, f"is not a decodable JPEG ({error})") from error
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def fingerprint(source: Path) -> str:
    """Identity of a split's files: the archive's SHA-256, or the listing (names, sizes, times) of a folder."""
    if source.is_file():
        return file_sha256(source)[:16]
    listing = sorted(
        (str(path.relative_to(source)), path.stat().st_size, path.stat().st_mtime_ns) for path in source.rglob("*.jpg")
    )
    return stable_hash(listing)


def tensor_cache_path(source: Path, split: str, *, cache_dir: str | Path) -> Path:
    """Where the decoded tensors of ``source`` live: ``<cache>/cifar10-jpeg-q75/<split>-<fingerprint>.pt``."""
    return Path(cache_dir) / SOURCE / f"{split}-{fingerprint(source)}.pt"


def load_jpeg_split(
    source: str | Path, split: str, *, cache_dir: str | Path, tensor_cache: bool = True
) -> tuple[Tensor, Tensor]:
    """``(uint8 images [N, 3, 32, 32], labels [N])`` of one split from its archive or extracted folder.

    With ``tensor_cache`` the decoded tensors are saved once (atomically) to `tensor_cache_path` and later
    calls load that file; an unreadable cache file is rebuilt with a warning.
    """
    source = Path(source)
    cache_file = tensor_cache_path(source, split, cache_dir=cache_dir) if tensor_cache else None
    if cache_file is not None and cache_file.is_file():
        cached = _read_tensor_cache(cache_file)
        if cached is not None:
            return cached
    folder = extract_split(source, split, cache_dir=cache_dir) if source.is_file() else source
    images, labels = decode_image_folder(folder)
    if cache_file is not None:
        payload = {
            "format": CACHE_FORMAT, "source": SOURCE, "classes": list(CLASSES), "images": images, "labels": labels
        }
        with atomic_path(cache_file) as temporary:
            torch.save(payload, temporary)
    return images, labels


def _read_tensor_cache(path: Path) -> tuple[Tensor, Tensor] | None:
    try:
        payload = torch.load(path, weights_only=True, mmap=True)
        images, labels = payload["images"], payload["labels"]
        valid = (
            payload.get("format") == CACHE_FORMAT
            and images.dtype == torch.uint8
            and tuple(images.shape[1:]) == IMAGE_SHAPE
            and labels.shape == (len(images),)
        )
    except Exception as error:  # a damaged cache file is rebuilt, whatever the damage
        warnings.warn(f"{path}: unreadable tensor cache ({error}); decoding the images again", stacklevel=3)
        return None
    if not valid:
        warnings.warn(f"{path}: tensor cache of an unexpected layout; decoding the images again", stacklevel=3)
        return None
    return images, labels
