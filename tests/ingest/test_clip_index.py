"""Indexing a library whose encoder is a clip encoder: one row per overlapping clip, at its centre."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.library.colorhist import ColorHistEncoder, segment_video

import chronolens
from chronolens.cli.main import main
from chronolens.encoders.clip_base import clip_windows, default_stride
from chronolens.encoders.registry import LoadOptions, register_scheme
from chronolens.errors import EncoderMismatchError
from chronolens.ingest import IngestConfig, RayConfig, embed_file
from chronolens.ingest.clips import ClipRows
from chronolens.library.library import Library
from chronolens.library.manifest import read_manifest
from chronolens.models.clip4clip import Clip4ClipEncoder, MeanPooling
from chronolens.video.reader import iter_frames
from chronolens.video.sampling import FixedFps

CLIP = 4  # frames per clip of the test clip encoder (stride 2)
SAMPLING = FixedFps(fps=1.0)
CONFIG = IngestConfig(batch_size=3)  # batches shorter than a clip: clips complete across batches
SEGMENTS = [("red", 4.0), ("blue", 4.0), ("green", 4.0)]


class CountingColorHist(ColorHistEncoder):
    """The colour encoder, counting how many frames each ``encode_images`` call got."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.calls: list[int] = []

    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        self.calls.append(len(frames))
        return super().encode_images(frames)


def clip_encoder(clip_frames: int = CLIP, name: str = "testc4c:meanp") -> Clip4ClipEncoder:
    """CLIP4Clip meanP over the colour-histogram encoder: a clip's embedding is its mean colour."""
    return Clip4ClipEncoder(CountingColorHist(), MeanPooling(), clip_frames=clip_frames, name=name)


@register_scheme("testc4c", usage="testc4c:<any>", description="CLIP4Clip meanP over colour histograms")
def _build(ref: str, options: LoadOptions) -> Clip4ClipEncoder:
    return clip_encoder(name=f"testc4c:{ref}")


def sampled_times(path: Path) -> np.ndarray:
    return np.concatenate([f.timestamps for f in iter_frames(path, SAMPLING, size=16, batch_size=8)])


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    folder = tmp_path / "videos"
    folder.mkdir()
    segment_video(folder / "rbg.mkv", SEGMENTS)
    segment_video(folder / "short.mkv", [("yellow", 2.0)])  # 2 sampled frames: one padded clip
    return folder


def _open(root: Path, **kwargs: object) -> Library:
    return Library.open(
        root, encoder=kwargs.pop("encoder", None) or clip_encoder(), sampling=SAMPLING, **kwargs
    )  # type: ignore[arg-type]


def test_index_stores_one_row_per_clip_at_its_centre(tmp_path: Path, videos: Path) -> None:
    with _open(tmp_path / "lib") as lib:
        report = chronolens.index(lib, [videos], config=CONFIG, progress=False)
        assert sorted(Path(p).name for p in report.indexed) == ["rbg.mkv", "short.mkv"]
        for name in ("rbg.mkv", "short.mkv"):
            times = sampled_times(videos / name)
            windows = clip_windows(times, CLIP, default_stride(CLIP))
            emb, ts = lib.frame_embeddings(videos / name)
            np.testing.assert_allclose(ts, windows.centres)  # the clip centres, not the frame times
            assert emb.shape == (len(windows), lib.manifest.dim)
            np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-3)
        _, short_ts = lib.frame_embeddings(videos / "short.mkv")
        assert len(short_ts) == 1  # shorter than one clip: one padded clip
        _, ts = lib.frame_embeddings(videos / "rbg.mkv")
        assert len(ts) == 5 and len(sampled_times(videos / "rbg.mkv")) == 12  # starts 0, 2, 4, 6, 8
        record = lib.record(videos / "rbg.mkv")
        assert record.n_frames == 5 and record.duration == pytest.approx(12.0, abs=0.2)


def test_clip_rows_equal_encode_video_clips_whatever_the_batches() -> None:
    from chronolens.encoders.clip_base import encode_video_clips

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(11, 8, 8, 3), dtype=np.uint8)
    times = np.arange(11, dtype=np.float64) * 0.5
    expected, windows = encode_video_clips(clip_encoder(), frames, times)
    for batch in (1, 3, 4, 11):
        rows = ClipRows(clip_encoder(), clips_per_call=2)
        for start in range(0, len(frames), batch):
            rows.add(frames[start : start + batch], times[start : start + batch])
            held = rows._frames
            assert held is not None and len(held) < CLIP + batch  # frames of finished clips are dropped
        embeddings, centres = rows.finish()
        np.testing.assert_allclose(embeddings[0], expected, atol=1e-6)
        np.testing.assert_allclose(centres[0], windows.centres)
    assert ClipRows(clip_encoder()).finish() == ([], [])


def test_padding_frames_are_not_embedded(tmp_path: Path, videos: Path) -> None:
    encoder = clip_encoder()
    with _open(tmp_path / "lib", encoder=encoder) as lib:
        chronolens.index(lib, [videos / "short.mkv"], config=CONFIG, progress=False)
    frame_encoder = encoder.frame_encoder
    assert isinstance(frame_encoder, CountingColorHist) and sum(frame_encoder.calls) == 2


def test_search_and_ground_find_the_clips(tmp_path: Path, videos: Path) -> None:
    with _open(tmp_path / "lib") as lib:
        chronolens.index(lib, [videos], config=CONFIG, progress=False)
        hits = chronolens.search(lib, "a blue scene", top_k=2)
        assert Path(hits[0].video).name == "rbg.mkv" and hits[0].moments
        best = hits[0].moments[0]
        assert 3.0 <= best.start < best.end <= 9.5 and best.end - best.start >= 2.0  # the blue 4-8 s
        grounded = chronolens.ground(videos / "rbg.mkv", "green", library=lib, top_k=1)
        window = grounded.windows[0]  # the green 8-12 s, to the resolution of 4-second clips
        assert 6.0 <= window.start < 8.5 and window.end == pytest.approx(12.0)
        yellow = chronolens.search(lib, "yellow", top_k=1)
        assert Path(yellow[0].video).name == "short.mkv"


def test_reindex_is_a_noop(tmp_path: Path, videos: Path) -> None:
    with _open(tmp_path / "lib") as lib:
        chronolens.index(lib, [videos], config=CONFIG, progress=False)
        before = {r.path: r.embeddings for r in lib.videos()}
    encoder = clip_encoder()
    with _open(tmp_path / "lib", encoder=encoder) as lib:
        again = chronolens.index(lib, [videos], config=CONFIG, progress=False)
        assert not again.indexed and len(again.unchanged) == 2 and again.n_frames == 0
        assert {r.path: r.embeddings for r in lib.videos()} == before
    assert encoder.frame_encoder.calls == []  # type: ignore[attr-defined]


def test_manifest_records_the_layout_and_reopening_checks_it(tmp_path: Path, videos: Path) -> None:
    with _open(tmp_path / "lib"):
        pass
    manifest = read_manifest(tmp_path / "lib" / "manifest.json")
    assert manifest.clips == {"clip_frames": CLIP, "stride_frames": 2}
    raw = json.loads((tmp_path / "lib" / "manifest.json").read_text())
    assert raw["clips"] == {"clip_frames": CLIP, "stride_frames": 2}
    with pytest.raises(
        EncoderMismatchError, match=r"clips of 4 frames, stride 2.*clips of 6 frames.*--rebuild"
    ):
        _open(tmp_path / "lib", encoder=clip_encoder(clip_frames=6))
    # A frame library refuses a clip encoder of the same name and weights, and vice versa.
    sha = clip_encoder().weights_sha256
    frames = ColorHistEncoder("test:same", weights_sha256=sha)
    with Library.open(tmp_path / "frames", encoder=frames, sampling=SAMPLING) as lib:  # type: ignore[arg-type]
        assert lib.manifest.clips is None
    assert json.loads((tmp_path / "frames" / "manifest.json").read_text())["clips"] is None
    with pytest.raises(EncoderMismatchError, match=r"holds frame embeddings.*embeds clips of 4.*--rebuild"):
        Library.open(tmp_path / "frames", encoder=clip_encoder(name="test:same"))  # type: ignore[arg-type]
    with pytest.raises(
        EncoderMismatchError, match=r"holds clips of 4 frames.*embeds single frames.*--rebuild"
    ):
        Library.open(tmp_path / "lib", encoder=ColorHistEncoder("testc4c:meanp", weights_sha256=sha))  # type: ignore[arg-type]


def test_rebuild_moves_a_library_to_another_clip_length(tmp_path: Path, videos: Path) -> None:
    with _open(tmp_path / "lib") as lib:
        chronolens.index(lib, [videos], config=CONFIG, progress=False)
    report = chronolens.ingest.rebuild(tmp_path / "lib", encoder=clip_encoder(clip_frames=6), progress=False)  # type: ignore[arg-type]
    assert len(report.indexed) == 2
    assert read_manifest(tmp_path / "lib" / "manifest.json").clips == {"clip_frames": 6, "stride_frames": 3}


def test_embed_file_with_a_clip_encoder_gives_clip_rows(videos: Path) -> None:
    emb, ts, duration = embed_file(
        videos / "rbg.mkv", encoder=clip_encoder(), sampling=SAMPLING, config=CONFIG
    )
    windows = clip_windows(sampled_times(videos / "rbg.mkv"), CLIP)
    np.testing.assert_allclose(ts, windows.centres)
    assert emb.shape == (5, 8) and duration == pytest.approx(12.0, abs=0.2)


def test_cli_index_and_search_a_clip_library(
    tmp_path: Path, videos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = str(tmp_path / "lib")
    assert main(["index", str(videos), "--library", lib, "--model", "testc4c:cli", "--json", "-q"]) == 0
    capsys.readouterr()
    assert read_manifest(tmp_path / "lib" / "manifest.json").clips == {
        "clip_frames": CLIP,
        "stride_frames": 2,
    }
    assert main(["search", "blue", "--library", lib, "--json"]) == 0
    assert "rbg.mkv" in capsys.readouterr().out


def test_ray_refuses_a_clip_library(tmp_path: Path, videos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (
        _open(tmp_path / "lib") as lib,
        pytest.raises(chronolens.ChronolensError, match="--ray does not support clip"),
    ):
        chronolens.index(lib, [videos], config=CONFIG, progress=False, ray=RayConfig())
    pytest.importorskip("ray")  # the CLI imports ray before it opens the library
    code = main(["index", str(videos), "--library", str(tmp_path / "cli"), "--model", "testc4c:ray", "--ray"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "not support clip encoders yet" in err and len(err.splitlines()) == 1


def test_index_with_a_tiny_xclip(tmp_path: Path, videos: Path) -> None:
    pytest.importorskip("transformers")
    from tests.encoders.test_xclip import TINY_FRAMES, save_tiny_xclip

    from chronolens.encoders import load_encoder

    model = f"xclip:{save_tiny_xclip(tmp_path / 'xclip')}"
    encoder = load_encoder(model, device="cpu", precision="fp32")
    with Library.open(tmp_path / "lib", encoder=encoder, sampling=SAMPLING) as lib:
        report = chronolens.index(lib, [videos / "rbg.mkv"], config=CONFIG, progress=False)
        assert len(report.indexed) == 1
        _, ts = lib.frame_embeddings(videos / "rbg.mkv")
        windows = clip_windows(sampled_times(videos / "rbg.mkv"), TINY_FRAMES)
        np.testing.assert_allclose(ts, windows.centres)
        assert chronolens.search(lib, "a red car", top_k=1)[0].moments
    clips = read_manifest(tmp_path / "lib" / "manifest.json").clips
    assert clips == {"clip_frames": TINY_FRAMES, "stride_frames": TINY_FRAMES // 2}
