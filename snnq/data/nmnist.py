"""N-MNIST data module: Tonic's reader over the original ``.bin`` recordings, framed and batched time-first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from snnq.data.event_datamodule import EventDataModule


class NMNISTDataModule(EventDataModule):
    """N-MNIST (saccade recordings of MNIST digits on a 34x34 two-polarity sensor), read with Tonic.

    ``data_dir`` holds ``Train/<digit>/NNNNN.bin`` and ``Test/<digit>/NNNNN.bin`` (the original layout; any
    number of recordings, e.g. a subset), or contains ``NMNIST/`` with them (Tonic's layout). ``download=True``
    fetches the full set with Tonic. Frames: ``[T, 2, 34, 34]``, ``T = n_time_bins`` (10 by default).

    Args (besides those of `EventDataModule`):
        first_saccade_only: keep the events of the first of the three saccades (Tonic's option).
        stabilize: remove the saccades' ego-motion (Tonic's option).

    Example::

        dm = NMNISTDataModule("../shared/data/nmnist", n_time_bins=10, batch_size=64)
        dm.setup("fit")
        frames, labels = next(iter(dm.train_dataloader()))   # [10, 64, 2, 34, 34], [64]
    """

    name = "N-MNIST"
    source = "nmnist-bin"
    reader_name = "NMNIST"
    split_folders = ("Train", "Test")
    sensor_size = (34, 34, 2)
    classes = tuple(str(digit) for digit in range(10))

    def __init__(
        self,
        data_dir: str | Path,
        *,
        first_saccade_only: bool = False,
        stabilize: bool = False,
        n_time_bins: int | None = None,
        time_window: float | None = None,
        overlap: float = 0,
        include_incomplete: bool = False,
        denoise_filter_time: float | None = None,
        spatial_factor: float = 1.0,
        frame_backend: str = "snnq",
        frame_cache: bool = True,
        cache_dir: str | Path | None = None,
        batch_size: int = 32,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
        download: bool = False,
        val_fraction: float = 0.1,
        pin_memory: bool = False,
    ):
        super().__init__(
            data_dir,
            n_time_bins=n_time_bins,
            time_window=time_window,
            overlap=overlap,
            include_incomplete=include_incomplete,
            denoise_filter_time=denoise_filter_time,
            spatial_factor=spatial_factor,
            frame_backend=frame_backend,
            frame_cache=frame_cache,
            cache_dir=cache_dir,
            batch_size=batch_size,
            num_workers=num_workers,
            seed=seed,
            limit=limit,
            download=download,
            val_fraction=val_fraction,
            pin_memory=pin_memory,
        )
        self.first_saccade_only = bool(first_saccade_only)
        self.stabilize = bool(stabilize)

    def reader(self, *, train: bool) -> Any:
        from snnq.data.tonic_datasets import NMNIST

        return NMNIST(
            self.save_to(),
            train=train,
            download=self.download,
            first_saccade_only=self.first_saccade_only,
            stabilize=self.stabilize,
        )

    def reader_options(self) -> dict[str, Any]:
        return {"first_saccade_only": self.first_saccade_only, "stabilize": self.stabilize}

    def how_to_obtain(self) -> str:
        return (
            "Put the N-MNIST recordings (original 5-byte .bin files) in data_dir/Train/<digit>/ and "
            "data_dir/Test/<digit>/, or pass download=True to fetch the full set with Tonic (needs internet)."
        )
