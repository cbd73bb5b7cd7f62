"""Indexing precomputed features files (``.npy`` / ``.npz`` per video)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.library.colorhist import ColorHistEncoder

import chronolens
from chronolens.errors import LibraryError
from chronolens.ingest.features import index_features, read_features
from chronolens.library import Library

DIM = 8


def _write(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    red = np.zeros((6, DIM), np.float32)
    red[:, 1] = 1.0
    blue = np.zeros((4, DIM), np.float32)
    blue[:, 4] = 2.0  # not unit length: normalised on the way in
    np.save(folder / "red.npy", red)
    np.savez(folder / "blue.npz", features=blue, timestamps=np.array([0.5, 1.5, 2.5, 3.5]), duration=4.0)
    np.savez(folder / "sub_bad.npz", features=np.ones((3, 5), np.float32))  # wrong dimension
    (folder / "broken.npz").write_bytes(b"PK\x03\x04 not a zip")
    (folder / "notes.txt").write_text("ignored")


def test_features_directory_indexes_good_files_and_names_bad_ones(tmp_path: Path) -> None:
    feats = tmp_path / "feats"
    _write(feats)
    with Library.open(tmp_path / "lib", encoder=ColorHistEncoder()) as lib:
        report = index_features(lib, [feats], progress=False)
        assert sorted(Path(p).name for p in report.indexed) == ["blue", "red"]
        assert sorted(Path(p).name for p in report.failed) == ["broken", "sub_bad"]
        assert "5-d, the library's encoder is 8-d" in report.failed[str(feats / "sub_bad")]
        assert "not a readable numpy file" in report.failed[str(feats / "broken")]
        red = lib.record(feats / "red")
        assert red.n_frames == 6 and red.duration == pytest.approx(12.0)  # 6 clips of 2 s
        _, ts = lib.frame_embeddings(feats / "red")
        np.testing.assert_allclose(ts, [1.0, 3.0, 5.0, 7.0, 9.0, 11.0])  # clip centres
        hit = chronolens.search(lib, "blue", top_k=1)[0]
        assert Path(hit.video).name == "blue" and hit.score == pytest.approx(1.0, abs=1e-3)
        assert hit.duration == pytest.approx(4.0)
        again = index_features(lib, [feats], progress=False)  # unchanged files stay as they are
        assert sorted(Path(p).name for p in again.unchanged) == ["blue", "red"] and not again.indexed


def test_read_features_errors_and_steps(tmp_path: Path) -> None:
    np.savez(tmp_path / "x.npz", other=np.ones(3))
    with pytest.raises(LibraryError, match=r"no 'embeddings' or 'features' array \(found: other"):
        read_features(tmp_path / "x.npz")
    np.save(tmp_path / "y.npy", np.ones((3, DIM)))
    _, ts, duration = read_features(tmp_path / "y.npy", step=0.5)
    np.testing.assert_allclose(ts, [0.25, 0.75, 1.25])
    assert duration == pytest.approx(1.5)
    with (
        Library.open(tmp_path / "lib", encoder=ColorHistEncoder()) as lib,
        pytest.raises(LibraryError, match="no such file"),
    ):
        index_features(lib, [tmp_path / "absent"], progress=False)


def test_cli_index_features(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from chronolens.cli.main import main

    feats = tmp_path / "feats"
    _write(feats)
    lib = tmp_path / "lib"
    status = main(["-q", "index", "--features", str(feats), "--library", str(lib), "--model", "testcolor:x"])
    out = capsys.readouterr()
    assert status == 0 and out.out.startswith("indexed 2, unchanged 0, failed 2"), out
    assert "sub_bad: " in out.err and "5-d, the library's encoder is 8-d" in out.err
    assert main(["-q", "search", "blue", "--library", str(lib), "--json"]) == 0
    assert '"video": "' + str(feats / "blue") + '"' in capsys.readouterr().out
    assert main(["-q", "index", "--features", "--rebuild", str(feats), "--library", str(lib)]) == 2
