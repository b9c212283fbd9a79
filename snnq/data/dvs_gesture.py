"""DVS128 Gesture data module: Tonic's reader over its preprocessed ``.npy`` recordings, framed time-first."""

from __future__ import annotations

from typing import Any

from snnq.data.event_datamodule import EventDataModule


class DVSGestureDataModule(EventDataModule):
    """DVS128 Gesture (11 hand and arm gestures, 29 subjects, a 128x128 two-polarity sensor), read with Tonic.

    ``data_dir`` holds Tonic's extracted archives ``ibmGestureTrain/`` and ``ibmGestureTest/`` (one folder per
    subject and lighting, ``user<NN>_<lighting>/``, with one ``<label>.npy`` per gesture), or contains
    ``DVSGesture/`` with them. ``download=True`` fetches the archives with Tonic. Frames:
    ``[T, 2, 128 * f, 128 * f]`` for ``spatial_factor=f``; ``T = n_time_bins`` (20 by default) or, with
    ``time_window``, one frame per window.

    Example::

        dm = DVSGestureDataModule("data/dvs_gesture", n_time_bins=16, spatial_factor=0.25, batch_size=16)
        dm.setup("fit")
        frames, labels = next(iter(dm.train_dataloader()))   # [16, 16, 2, 32, 32], [16]
    """

    name = "DVS128 Gesture"
    source = "dvs128-gesture-tonic-npy"
    reader_name = "DVSGesture"
    split_folders = ("ibmGestureTrain", "ibmGestureTest")
    sensor_size = (128, 128, 2)
    default_time_bins = 20
    classes = (
        "hand clapping",
        "right hand wave",
        "left hand wave",
        "right arm clockwise",
        "right arm counter-clockwise",
        "left arm clockwise",
        "left arm counter-clockwise",
        "arm roll",
        "air drums",
        "air guitar",
        "other gestures",
    )

    def reader(self, *, train: bool) -> Any:
        from snnq.data.tonic_datasets import DVSGesture

        return DVSGesture(self.save_to(), train=train, download=self.download)

    def how_to_obtain(self) -> str:
        return (
            "Extract Tonic's preprocessed archives ibmGestureTrain.tar.gz and ibmGestureTest.tar.gz into data_dir, "
            "or pass download=True to fetch them with Tonic (needs internet)."
        )
