"""The cache's atomic writes: a reader sees a whole entry or none, whatever happens to the writer."""

from __future__ import annotations

import os

import pytest

from snnq.data.cache import atomic_directory, atomic_path, atomic_symlink, default_cache_dir, resolve_cache_dir, stable_hash


def test_atomic_path_publishes_only_complete_files(tmp_path):
    target = tmp_path / "sub" / "entry.npy"
    with atomic_path(target) as temporary:
        temporary.write_bytes(b"whole")
        assert not target.exists() and temporary.parent == target.parent
    assert target.read_bytes() == b"whole"
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as temporary:
        temporary.write_bytes(b"half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"whole" and sorted(p.name for p in target.parent.iterdir()) == ["entry.npy"]


def test_atomic_directory_is_all_or_nothing(tmp_path):
    target = tmp_path / "tree"

    def broken(folder):
        (folder / "a").write_text("1")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_directory(target, broken)
    assert list(tmp_path.iterdir()) == []
    calls = []
    atomic_directory(target, lambda folder: calls.append((folder / "a").write_text("1")))
    atomic_directory(target, lambda folder: calls.append("again"))  # an existing result is kept as it is
    assert (target / "a").read_text() == "1" and len(calls) == 1


def test_atomic_directory_lets_the_first_of_two_racers_win(tmp_path):
    target = tmp_path / "tree"

    def racing(folder):
        (folder / "mine").write_text("late")
        target.mkdir()  # another process finishes first
        (target / "theirs").write_text("early")

    atomic_directory(target, racing)
    assert [p.name for p in target.iterdir()] == ["theirs"] and len(list(tmp_path.iterdir())) == 1


def test_atomic_symlink_points_and_repoints(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    link = atomic_symlink(tmp_path / "links" / "NMNIST", first)
    assert os.readlink(link) == str(first)
    atomic_symlink(link, second)
    assert os.readlink(link) == str(second) and sorted(p.name for p in link.parent.iterdir()) == ["NMNIST"]


def test_the_default_cache_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SNNQ_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine" == resolve_cache_dir(None)
    monkeypatch.delenv("SNNQ_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "snnq"
    assert resolve_cache_dir(tmp_path / "given") == tmp_path / "given"


def test_stable_hash_depends_on_content_not_key_order():
    assert stable_hash({"a": 1, "b": [2, 3]}) == stable_hash({"b": [2, 3], "a": 1})
    assert stable_hash({"a": 1}) != stable_hash({"a": 2}) and len(stable_hash({})) == 16
