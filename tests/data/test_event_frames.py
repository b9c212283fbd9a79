"""snnq's events -> frames equals Tonic's ToFrame exactly, on real recordings and on generated streams."""

from __future__ import annotations

import time

import numpy as np
import pytest
import tonic
from hypothesis import given
from hypothesis import strategies as st

from snnq.data import events_to_frames
from snnq.data.errors import EventFileError
from snnq.data.frame_transform import FrameTransform
from snnq.errors import ConfigError, UnknownNameError

SENSOR = (34, 34, 2)
DTYPE = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])


@pytest.fixture(scope="module")
def recordings(nmnist_dir):
    """The events of 300 real N-MNIST recordings (every third training file and all test files)."""
    from tonic.io import read_mnist_file

    files = sorted(nmnist_dir.glob("Train/*/*.bin"))[::5] + sorted(nmnist_dir.glob("Test/*/*.bin"))
    return [read_mnist_file(str(path), dtype=tonic.datasets.NMNIST.dtype) for path in files]


OPTIONS = [
    {"n_time_bins": 10},
    {"n_time_bins": 3},
    {"n_time_bins": 7, "overlap": 0.3},
    {"time_window": 1000},
    {"time_window": 10_000, "overlap": 2500, "include_incomplete": True},
    {"time_window": 33_333.5},
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_frames_equal_tonics_on_real_recordings(recordings, options):
    to_frame = tonic.transforms.ToFrame(sensor_size=SENSOR, **options)
    for events in recordings:
        ours = events_to_frames(events, SENSOR, **options)
        theirs = to_frame(events)
        assert ours.dtype == theirs.dtype == np.int16
        assert np.array_equal(ours, theirs)


@st.composite
def streams(draw):
    n = draw(st.integers(1, 300))
    width, height = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    polarities = draw(st.sampled_from([1, 2]))
    events = np.zeros(n, dtype=DTYPE)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    events["x"] = rng.integers(0, width, n)
    events["y"] = rng.integers(0, height, n)
    events["p"] = rng.integers(0, polarities, n) if polarities == 2 else draw(st.sampled_from([0, 1]))
    events["t"] = np.sort(rng.integers(0, draw(st.integers(1, 10**6)), n))
    return events, (width, height, polarities)


@given(
    streams(),
    st.one_of(
        st.builds(lambda n, o: {"n_time_bins": n, "overlap": o}, st.integers(1, 40), st.sampled_from([0, 0.0, 0.25, 0.5])),
        st.builds(
            lambda w, f, inc: {"time_window": w, "overlap": f * w, "include_incomplete": inc},
            st.integers(1, 200_000),
            st.sampled_from([0, 0.5]),
            st.booleans(),
        ),
    ),
)
def test_frames_equal_tonics_on_generated_streams(stream, options):
    events, sensor = stream
    theirs = tonic.transforms.ToFrame(sensor_size=sensor, **options)(events.copy())
    assert np.array_equal(events_to_frames(events, sensor, **options), theirs)


def test_boolean_polarities_and_int16_coordinates_as_in_dvs_gesture():
    dtype = tonic.datasets.DVSGesture.dtype
    rng = np.random.default_rng(0)
    events = np.zeros(2000, dtype=dtype)
    events["x"], events["y"] = rng.integers(0, 128, 2000), rng.integers(0, 128, 2000)
    events["p"], events["t"] = rng.integers(0, 2, 2000).astype(bool), np.sort(rng.integers(0, 10**6, 2000))
    theirs = tonic.transforms.ToFrame(sensor_size=(128, 128, 2), n_time_bins=8)(events)
    assert np.array_equal(events_to_frames(events, (128, 128, 2), n_time_bins=8), theirs)


def test_counts_past_int16_wrap_like_tonics():
    events = np.zeros(40_000, dtype=DTYPE)  # all on one pixel
    events["t"] = np.arange(40_000)
    theirs = tonic.transforms.ToFrame(sensor_size=(2, 2, 2), n_time_bins=1)(events)
    ours = events_to_frames(events, (2, 2, 2), n_time_bins=1)
    assert np.array_equal(ours, theirs) and ours[0, 0, 0, 0] == 39_999 - 65_536  # the last event ends the bin


def test_a_long_recording_is_framed_in_chunks_with_the_same_result(monkeypatch, recordings):
    import snnq.data.event_frames as module

    expected = events_to_frames(recordings[0], SENSOR, time_window=1000)
    monkeypatch.setattr(module, "MAX_COUNTERS", 5 * 2 * 34 * 34)  # five frames per chunk
    assert np.array_equal(events_to_frames(recordings[0], SENSOR, time_window=1000), expected)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("x", 34, r"event x values span 0\.\.34, outside the sensor's 0\.\.33"),
        ("y", -1, r"event y values span -1\.\.0, outside the sensor's 0\.\.33"),
        ("p", 2, r"event p values span 0\.\.2, outside the sensor's 0\.\.1"),
    ],
)
def test_events_off_the_sensor_are_refused_with_the_source_named(field, value, message):
    events = np.zeros(5, dtype=DTYPE)
    events["t"] = np.arange(5)
    events[field][3] = value
    with pytest.raises(EventFileError, match=rf"^rec\.bin: {message}"):
        events_to_frames(events, SENSOR, n_time_bins=1, source="rec.bin")


def test_two_polarities_on_a_one_polarity_sensor_are_refused():
    events = np.zeros(3, dtype=DTYPE)
    events["p"] = [0, 1, 0]
    with pytest.raises(EventFileError, match="both polarities for a single-polarity sensor"):
        events_to_frames(events, (34, 34, 1), n_time_bins=1, source="x")


def test_bad_framing_options_are_config_errors():
    events = np.zeros(3, dtype=DTYPE)
    with pytest.raises(ConfigError, match="exactly one of n_time_bins and time_window"):
        events_to_frames(events, SENSOR)
    with pytest.raises(ConfigError, match="exactly one of n_time_bins and time_window"):
        events_to_frames(events, SENSOR, n_time_bins=3, time_window=10)
    with pytest.raises(ConfigError, match="no events"):
        events_to_frames(events[:0], SENSOR, n_time_bins=3, source="empty.bin")
    with pytest.raises(ConfigError, match=r"sensor_size=\(34, 34\) is invalid"):
        events_to_frames(events, (34, 34), n_time_bins=3)
    with pytest.raises(ConfigError, match="overlap=1000 is invalid"):
        events_to_frames(events, SENSOR, time_window=1000, overlap=1000)
    with pytest.raises(UnknownNameError, match=r"unknown frame backend 'numpy'; valid: snnq, tonic"):
        FrameTransform(sensor_size=SENSOR, n_time_bins=3, backend="numpy")
    with pytest.raises(ConfigError, match=r"n_time_bins=0 is invalid"):
        FrameTransform(sensor_size=SENSOR, n_time_bins=0)


def test_both_frame_backends_give_the_same_frames_and_keys_differ(recordings):
    ours = FrameTransform(sensor_size=SENSOR, time_window=20_000)
    theirs = FrameTransform(sensor_size=SENSOR, time_window=20_000, backend="tonic")
    for events in recordings[:20]:
        assert np.array_equal(ours(events), theirs(events))
    assert ours.key() != theirs.key() and ours.key() == FrameTransform(sensor_size=SENSOR, time_window=20_000).key()


def _seconds_per_recording(function, recordings) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for events in recordings:
            function(events)
        best = min(best, time.perf_counter() - start)
    return best / len(recordings)


@pytest.mark.slow
@pytest.mark.parametrize("options", [{"n_time_bins": 10}, {"time_window": 1000}], ids=["n_time_bins=10", "time_window=1000"])
def test_framing_is_at_least_five_times_faster_than_tonic(recordings, options):
    to_frame = tonic.transforms.ToFrame(sensor_size=SENSOR, **options)
    tonic_time = _seconds_per_recording(to_frame, recordings)
    snnq_time = _seconds_per_recording(lambda events: events_to_frames(events, SENSOR, **options), recordings)
    assert tonic_time / snnq_time >= 5, f"only {tonic_time / snnq_time:.1f}x ({tonic_time * 1e6:.0f} vs {snnq_time * 1e6:.0f} us)"
