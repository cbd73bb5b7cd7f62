"""A re-index with nothing new: no model loaded, no embeddings file read, damage still caught."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.library.colorhist import ColorHistEncoder, segment_video

import chronolens
from chronolens.cli.main import main
from chronolens.encoders.registry import LoadOptions, register_scheme
from chronolens.library import Library
from chronolens.library.store import EmbeddingStore, seal_ns

BUILDS: list[str] = []  # encoders built by the "testlazy" scheme, in order


@register_scheme("testlazy", usage="testlazy:<any>", description="colour-histogram encoder that counts loads")
def _build(ref: str, options: LoadOptions) -> ColorHistEncoder:
    BUILDS.append(ref)
    return ColorHistEncoder(f"testlazy:{ref}")


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    root = tmp_path / "videos"
    segment_video(root / "a.mkv", [("blue", 2), ("red", 2)])
    segment_video(root / "b.mkv", [("green", 3)])
    return root


@pytest.fixture
def checksums(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the embeddings files read in full (``EmbeddingStore.checksum``)."""
    read: list[str] = []
    real = EmbeddingStore.checksum

    def counting(self: EmbeddingStore, name: str) -> tuple[int, str] | None:
        read.append(name)
        return real(self, name)

    monkeypatch.setattr(EmbeddingStore, "checksum", counting)
    return read


def test_cli_noop_loads_no_encoder_and_a_new_video_loads_it_once(tmp_path: Path, videos: Path) -> None:
    argv = ["-q", "index", str(videos), "--library", str(tmp_path / "lib")]
    BUILDS.clear()
    assert main([*argv, "--model", "testlazy:x"]) == 0
    assert BUILDS == ["x"]  # creating the library needs it
    assert main(argv) == 0
    assert BUILDS == ["x"]  # nothing new: not loaded
    segment_video(videos / "c.mkv", [("red", 2)])
    assert main(argv) == 0
    assert BUILDS == ["x", "x"]  # loaded for the one new video


def test_noop_reads_no_embeddings_file(tmp_path: Path, videos: Path, checksums: list[str]) -> None:
    with Library.open(tmp_path / "lib", encoder=ColorHistEncoder()) as lib:
        chronolens.index(lib, [videos], progress=False)
        written = list(checksums)
        assert len(written) == 2  # each read back once, right after it was written
        report = chronolens.index(lib, [videos], progress=False)
    assert len(report.unchanged) == 2 and checksums == written


def test_unsealed_file_is_read_once_then_trusted(tmp_path: Path, videos: Path, checksums: list[str]) -> None:
    """Files of an older library (or copied without their times) are verified once, then sealed."""
    with Library.open(tmp_path / "lib", encoder=ColorHistEncoder()) as lib:
        chronolens.index(lib, [videos], progress=False)
        for npz in (tmp_path / "lib" / "embeddings").iterdir():
            st = npz.stat()
            os.utime(npz, ns=(st.st_atime_ns, st.st_mtime_ns - st.st_mtime_ns % 10**9 + 2))  # even: no seal
        checksums.clear()
        assert len(chronolens.index(lib, [videos], progress=False).unchanged) == 2
        assert len(checksums) == 2
        assert len(chronolens.index(lib, [videos], progress=False).unchanged) == 2
        assert len(checksums) == 2  # sealed by the check: not read again


def test_same_size_rewrite_within_the_same_second_is_reindexed(tmp_path: Path, videos: Path) -> None:
    encoder = ColorHistEncoder()
    with Library.open(tmp_path / "lib", encoder=encoder) as lib:
        chronolens.index(lib, [videos], progress=False)
        record = lib.record(videos / "a.mkv")
        assert record.embeddings is not None and record.embeddings_sha256 is not None
        npz = tmp_path / "lib" / "embeddings" / record.embeddings
        st = npz.stat()
        assert st.st_mtime_ns % 10**9 == seal_ns(record.embeddings_sha256)  # sealed when written
        data = bytearray(npz.read_bytes())
        data[len(data) // 2] ^= 0xFF
        npz.write_bytes(bytes(data))
        # Same size, and the mtime kept to the same second (a fast rewrite): only the seal differs.
        os.utime(npz, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # seals are odd: +1 is none
        assert npz.stat().st_size == st.st_size
        seen = encoder.images_seen
        report = chronolens.index(lib, [videos], progress=False)
        assert report.indexed == [str(videos / "a.mkv")] and encoder.images_seen > seen
