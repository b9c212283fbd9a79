"""Events -> frames in a few vectorised numpy calls, giving exactly what Tonic's ``ToFrame`` gives.

Tonic's ``ToFrame`` slices the event stream into windows and runs ``np.add.at`` once per window. Here the
window boundaries are computed with the same arithmetic and the same ``np.searchsorted`` calls, every event
gets a flat index ``((window * P + p) * H + y) * W + x`` (``np.ravel_multi_index``, which also checks every
coordinate against the sensor), and one ``np.bincount`` (for sparse frames one ``index_add_``) counts them.
The frames are int16 ``[T, P, H, W]`` like Tonic's (counts wrap the same way past 32767); the tests check
``np.array_equal`` with Tonic's output on real N-MNIST recordings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from snnq.data.errors import EventFileError
from snnq.errors import ConfigError

#: count at most this many frame pixels at once (longer recordings are processed in chunks of frames)
MAX_COUNTERS = 1 << 23
#: above this many counters per event, counting goes straight into int16 (index_add_) instead of np.bincount
SPARSE_RATIO = 32
#: ... and above this many counters in all (below it, torch's fixed cost outweighs the gain)
SPARSE_MIN = 1 << 17


def events_to_frames(
    events: np.ndarray,
    sensor_size: tuple[int, int, int],
    *,
    n_time_bins: int | None = None,
    time_window: float | None = None,
    overlap: float = 0,
    include_incomplete: bool = False,
    start_time: float | None = None,
    end_time: float | None = None,
    source: str = "<events>",
) -> np.ndarray:
    """Accumulates events into int16 frames ``[T, P, H, W]``; the same result as ``tonic.transforms.ToFrame``.

    Give exactly one of ``n_time_bins`` (T equal windows of ``(t_last - t_first) // T`` spanning the recording;
    events past the last whole window are dropped, as Tonic does) or ``time_window`` (windows of that length
    from ``start_time`` or the first event, stepping ``time_window - overlap``; the last partial window only
    with ``include_incomplete``). ``overlap`` is a fraction of a bin for ``n_time_bins`` and a duration for
    ``time_window``, as in Tonic.

    Args:
        events: structured array with fields ``x``, ``y``, ``t``, ``p``, sorted by ``t``.
        sensor_size: ``(W, H, P)``, Tonic's order.
        source: name of the recording, used in error messages.

    Raises:
        EventFileError: an event off the sensor (coordinates or polarity out of range).
        ConfigError: no events, not exactly one of ``n_time_bins`` / ``time_window``, or values out of range.

    Example:
        >>> events = np.array([(0, 0, 0, 1), (1, 0, 5, 0), (1, 1, 10, 1)],
        ...                   dtype=[("x", int), ("y", int), ("t", int), ("p", int)])
        >>> events_to_frames(events, (2, 2, 2), n_time_bins=2)[:, 1]  # ON channel of the two frames
        array([[[1, 0],
                [0, 0]],
        <BLANKLINE>
               [[0, 0],
                [0, 0]]], dtype=int16)
    """
    window_options = (n_time_bins, time_window, overlap, include_incomplete, start_time, end_time)
    shape = _sensor(sensor_size)
    starts, ends = _windows(events, *window_options, source=source)
    if shape[0] == 1 and np.unique(events["p"]).size > 1:  # as Tonic, over the whole recording
        raise EventFileError(source, "events of both polarities for a single-polarity sensor")
    step = max(1, MAX_COUNTERS // (shape[0] * shape[1] * shape[2]))
    if len(starts) <= step:
        index, lengths = _gather(starts, ends)
        chunk = events[index]
        return _count(chunk["x"], chunk["y"], chunk["p"], lengths, shape, source)
    frames = np.empty((len(starts), *shape), dtype=np.int16)
    for first in range(0, len(starts), step):
        index, lengths = _gather(starts[first : first + step], ends[first : first + step])
        chunk = events[index]
        frames[first : first + step] = _count(chunk["x"], chunk["y"], chunk["p"], lengths, shape, source)
    return frames


def _sensor(sensor_size: tuple[int, int, int]) -> tuple[int, int, int]:
    """``(P, H, W)`` from Tonic's ``(W, H, P)``, checked."""
    try:
        width, height, polarities = map(int, sensor_size)
    except (TypeError, ValueError):
        width = height = polarities = 0
    if min(width, height, polarities) < 1:
        raise ConfigError(f"sensor_size={sensor_size!r} is invalid; expected (W, H, P) with positive sizes")
    return polarities, height, width


def _windows(
    events: np.ndarray,
    n_time_bins: int | None,
    time_window: float | None,
    overlap: float,
    include_incomplete: bool,
    start_time: float | None,
    end_time: float | None,
    *,
    source: str,
) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last event index of every window, as Tonic's slicers compute them."""
    if len(events) == 0:
        raise ConfigError(f"{source}: no events to turn into frames")
    if (n_time_bins is None) == (time_window is None):
        raise ConfigError("events_to_frames: give exactly one of n_time_bins and time_window")
    times = events["t"]
    if n_time_bins is not None:
        return _time_bin_slices(times, int(n_time_bins), overlap)
    return _time_window_slices(times, time_window, overlap, include_incomplete, start_time, end_time)


def _count(
    x: np.ndarray, y: np.ndarray, p: np.ndarray, lengths: np.ndarray, shape: tuple[int, int, int], source: str
) -> np.ndarray:
    """int16 frames ``[len(lengths), P, H, W]``: the first ``lengths[0]`` events go to frame 0, and so on."""
    polarities, height, width = shape
    frame = np.arange(len(lengths), dtype=np.int64).repeat(lengths)
    if polarities == 1:  # Tonic folds a single-polarity sensor into channel 0 (after checking, in events_to_frames)
        p = np.zeros(len(x), dtype=np.int64)
    try:  # one C pass: ((frame * P + p) * H + y) * W + x, with every index checked against its size
        flat = np.ravel_multi_index((frame, p, y, x), (len(lengths), polarities, height, width))
    except (ValueError, TypeError):
        for name, values, size in (("x", x, width), ("y", y, height), ("p", p, polarities)):
            _check_on_sensor(name, values, size, source)
        raise
    counters = len(lengths) * polarities * height * width
    if counters <= max(SPARSE_RATIO * len(flat), SPARSE_MIN):
        counts = np.bincount(flat, minlength=counters).astype(np.int16)  # wraps past 32767 as add.at does
        return counts.reshape(len(lengths), polarities, height, width)
    # few events for many counters: torch's CPU index_add_ adds serially straight into int16 counters (wrapping
    # as Tonic's np.add.at does), sparing bincount's int64 buffer several times the frames' size
    frames = np.zeros(counters, dtype=np.int16)  # numpy's calloc: zero pages only where events land
    torch.from_numpy(frames).index_add_(0, torch.from_numpy(flat), torch.ones(len(flat), dtype=torch.int16))
    return frames.reshape(len(lengths), polarities, height, width)


def _time_bin_slices(times: np.ndarray, n_time_bins: int, overlap: float) -> tuple[np.ndarray, np.ndarray]:
    """Tonic's ``SliceByTimeBins`` boundaries, as index arrays."""
    if n_time_bins < 1:
        raise ConfigError(f"n_time_bins={n_time_bins} is invalid; expected an integer >= 1")
    if not 0 <= overlap < 1:
        raise ConfigError(f"overlap={overlap} is invalid for n_time_bins; expected a fraction in [0, 1)")
    first, last = _scalars(times)
    time_window = (last - first) // n_time_bins * (1 + overlap)
    stride = time_window * (1 - overlap)
    window_starts = np.arange(n_time_bins) * stride + first
    window_ends = window_starts + time_window
    bounds = times.searchsorted(np.concatenate((window_starts, window_ends)))
    return bounds[:n_time_bins], bounds[n_time_bins:]


def _time_window_slices(
    times: np.ndarray,
    time_window: float,
    overlap: float,
    include_incomplete: bool,
    start_time: float | None,
    end_time: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Tonic's ``SliceByTime`` boundaries, as index arrays."""
    if not time_window > 0:
        raise ConfigError(f"time_window={time_window} is invalid; expected a positive duration")
    stride = time_window - overlap
    if not stride > 0:
        raise ConfigError(f"overlap={overlap} is invalid; it must be shorter than time_window={time_window}")
    first, last = _scalars(times)
    start = first if start_time is None else start_time
    end = last if end_time is None else end_time
    duration = end - start
    if include_incomplete:
        n_slices = int(np.ceil((duration - time_window) / stride) + 1)
    else:
        n_slices = int(np.floor((duration - time_window) / stride) + 1)
    n_slices = max(n_slices, 1)
    window_starts = np.arange(n_slices) * stride + start
    window_ends = window_starts + time_window
    bounds = times.searchsorted(np.concatenate((window_starts, window_ends)))
    return bounds[:n_slices], bounds[n_slices:]


def _scalars(times: np.ndarray) -> tuple[Any, Any]:
    """The first and last timestamp, as Python numbers when that changes no result (faster arithmetic).

    For int64 and float64 timestamps, Python ints and floats give the same values as numpy's scalars in
    Tonic's formulas (and the same dtypes once combined with arrays); other dtypes keep numpy's scalars.
    """
    if times.dtype == np.int64 or times.dtype == np.float64:
        return times[0].item(), times[-1].item()
    return times[0], times[-1]


def _gather(starts: np.ndarray, ends: np.ndarray) -> tuple[slice | np.ndarray, np.ndarray]:
    """The indices of the events in windows ``[starts[i], ends[i])``, window after window, and each window's length.

    Back-to-back windows (no overlap) are one slice of the event array; overlapping ones repeat events.
    """
    first, last = starts.tolist(), ends.tolist()  # a few Python ints compare faster than numpy calls
    lengths = ends - starts
    if first[1:] == last[:-1] and all(map(int.__le__, first, last)):
        return slice(first[0], last[-1]), lengths
    lengths = np.maximum(lengths, 0)
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return offsets + np.arange(int(lengths.sum())), lengths


def _check_on_sensor(name: str, values: np.ndarray, size: int, source: str) -> None:
    """`EventFileError` unless ``values`` are integers (or booleans) in ``0 .. size - 1``."""
    if values.dtype.kind not in "iub":
        raise EventFileError(source, f"event {name} values are {values.dtype}; expected integers")
    if len(values) and (int(values.min()) < 0 or int(values.max()) >= size):
        low, high = int(values.min()), int(values.max())
        raise EventFileError(source, f"event {name} values span {low}..{high}, outside the sensor's 0..{size - 1}")
