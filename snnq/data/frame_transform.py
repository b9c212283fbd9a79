"""Events -> frames with Tonic's transforms: optional ``Denoise`` and ``Downsample``, then ``ToFrame`` or its twin."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from snnq.data.cache import stable_hash
from snnq.data.errors import EmptyRecordingError
from snnq.data.event_frames import events_to_frames
from snnq.errors import ConfigError, UnknownNameError

BACKENDS = ("snnq", "tonic")


@dataclasses.dataclass(frozen=True, kw_only=True)
class FrameTransform:
    """Turns one recording's events into int16 frames ``[T, P, H, W]``.

    Steps, in order: Tonic's ``Denoise(filter_time=denoise_filter_time)`` when that is set (an event is kept
    when a neighbouring pixel fired within ``filter_time``); Tonic's ``Downsample(spatial_factor=...)`` when
    ``spatial_factor != 1``; then framing by ``n_time_bins`` (a fixed number of equal time bins) or by
    ``time_window`` (windows of that many microseconds; their number depends on the recording's length).
    ``backend="tonic"`` frames with ``tonic.transforms.ToFrame``, ``backend="snnq"`` with
    `snnq.data.event_frames.events_to_frames`, which gives identical frames several times faster.

    A recording that is empty after denoising raises `EmptyRecordingError` naming it. `key` is a digest of
    every setting: frame caches use it so that a changed transform never serves old frames.

    Args:
        sensor_size: ``(W, H, P)`` of the recordings (Tonic's order).
        n_time_bins / time_window: exactly one of them.
        overlap, include_incomplete: Tonic's ``ToFrame`` options.
        denoise_filter_time: Tonic's ``Denoise`` time (microseconds), or None for no denoising.
        spatial_factor: Tonic's ``Downsample`` factor on x and y (0.25 turns 128x128 into 32x32).
        backend: ``snnq`` or ``tonic``.
    """

    sensor_size: tuple[int, int, int]
    n_time_bins: int | None = None
    time_window: float | None = None
    overlap: float = 0
    include_incomplete: bool = False
    denoise_filter_time: float | None = None
    spatial_factor: float = 1.0
    backend: str = "snnq"

    #: bump when the frames this class makes change for the same settings (invalidates caches)
    VERSION: ClassVar[int] = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "sensor_size", tuple(int(size) for size in self.sensor_size))
        if len(self.sensor_size) != 3 or min(self.sensor_size) < 1:
            raise ConfigError(f"FrameTransform: sensor_size={self.sensor_size} is invalid; expected (W, H, P) > 0")
        if (self.n_time_bins is None) == (self.time_window is None):
            raise ConfigError(
                f"FrameTransform: give exactly one of n_time_bins and time_window "
                f"(got n_time_bins={self.n_time_bins}, time_window={self.time_window})"
            )
        if self.n_time_bins is not None and (
            isinstance(self.n_time_bins, bool) or not isinstance(self.n_time_bins, int) or self.n_time_bins < 1
        ):
            raise ConfigError(f"FrameTransform: n_time_bins={self.n_time_bins!r} is invalid; expected an integer >= 1")
        if self.time_window is not None and not self.time_window > 0:
            raise ConfigError(f"FrameTransform: time_window={self.time_window!r} is invalid; expected a duration > 0")
        if self.denoise_filter_time is not None and not self.denoise_filter_time > 0:
            raise ConfigError(
                f"FrameTransform: denoise_filter_time={self.denoise_filter_time!r} is invalid; expected None or > 0"
            )
        if not 0 < self.spatial_factor <= 1:
            raise ConfigError(f"FrameTransform: spatial_factor={self.spatial_factor!r} is invalid; expected 0 < f <= 1")
        if self.backend not in BACKENDS:
            raise UnknownNameError("frame backend", self.backend, BACKENDS)

    @property
    def frame_sensor_size(self) -> tuple[int, int, int]:
        """``(W, H, P)`` after downsampling."""
        width, height, polarities = self.sensor_size
        if self.spatial_factor == 1:
            return self.sensor_size
        return int((width - 1) * self.spatial_factor) + 1, int((height - 1) * self.spatial_factor) + 1, polarities

    def settings(self) -> dict[str, Any]:
        """Every setting that shapes the frames, plus the class's `VERSION`."""
        return {**dataclasses.asdict(self), "sensor_size": list(self.sensor_size), "version": self.VERSION}

    def key(self) -> str:
        """A short digest of `settings`."""
        return stable_hash(self.settings())

    def __call__(self, events: np.ndarray, *, source: str | Path = "<events>") -> np.ndarray:
        """int16 frames ``[T, P, H, W]`` of ``events`` (a Tonic structured array)."""
        import tonic.transforms as T  # Tonic is slow to import: only when frames are made

        if len(events) == 0:
            raise EmptyRecordingError(source, "on disk")
        if self.denoise_filter_time is not None:
            events = T.Denoise(filter_time=self.denoise_filter_time)(events)
            if len(events) == 0:
                raise EmptyRecordingError(source, f"after denoising with filter_time={self.denoise_filter_time}")
        if self.spatial_factor != 1:
            events = T.Downsample(spatial_factor=self.spatial_factor)(events)
        options = {
            "n_time_bins": self.n_time_bins,
            "time_window": self.time_window,
            "overlap": self.overlap,
            "include_incomplete": self.include_incomplete,
        }
        if self.backend == "tonic":
            return np.asarray(T.ToFrame(sensor_size=self.frame_sensor_size, **options)(events))
        return events_to_frames(events, self.frame_sensor_size, **options, source=str(source))
