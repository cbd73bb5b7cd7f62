"""Zero-shot classification: prompt ensembles, segment embeddings, per video / window / shot, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.library.colorhist import ColorHistEncoder, segment_video

import chronolens
from chronolens.cli.main import main
from chronolens.errors import ChronolensError
from chronolens.library import Library
from chronolens.tasks.classify import (
    check_labels,
    classify,
    classify_embeddings,
    label_embeddings,
    parse_labels,
    read_labels_file,
    segment_embeddings,
    window_spans,
)
from chronolens.tasks.video import VideoEmbeddings
from chronolens.timebase import Span
from chronolens.video import FixedFps

LABELS = ["red", "blue", "yellow", "green"]


@pytest.fixture
def video(tmp_path: Path) -> Path:
    # 1.5 s blue, 2.0 s red, 1.3 s yellow: red covers most of the video
    return segment_video(tmp_path / "v" / "a.mkv", [("blue", 1.5), ("red", 2.0), ("yellow", 1.3)], fps=10)


class CountingEncoder(ColorHistEncoder):
    """Records every text batch it encodes."""

    def __init__(self) -> None:
        super().__init__("testcolor:count")
        self.texts: list[list[str]] = []

    def encode_texts(self, texts):  # type: ignore[no-untyped-def]
        self.texts.append(list(texts))
        return super().encode_texts(texts)


def test_label_embeddings_average_normalised_prompts_then_renormalise() -> None:
    encoder = CountingEncoder()
    templates = ["{}", "a {} and red scene"]
    out = label_embeddings(encoder, ["blue", "green"], templates)
    assert encoder.texts == [["blue", "a blue and red scene", "green", "a green and red scene"]]
    raw = ColorHistEncoder().encode_texts(encoder.texts[0]).reshape(2, 2, -1)
    expected = raw.mean(axis=1)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    with pytest.raises(ChronolensError, match="exactly one"):
        label_embeddings(encoder, ["blue"], ["no slot"])


def test_labels_are_checked(tmp_path: Path) -> None:
    assert parse_labels(" a dog , , a cat ") == ["a dog", "a cat"]
    with pytest.raises(ChronolensError, match="no labels"):
        parse_labels(" , ")
    with pytest.raises(ChronolensError, match="duplicate label 'Cat'"):
        check_labels(["cat", "Cat"])
    with pytest.raises(ChronolensError, match="no such labels file"):
        read_labels_file(tmp_path / "missing.txt")
    file = tmp_path / "labels.txt"
    file.write_text("# colours\nred\n\nblue\n", encoding="utf-8")
    assert read_labels_file(file) == ["red", "blue"]
    (tmp_path / "empty.txt").write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(ChronolensError, match="holds no labels"):
        read_labels_file(tmp_path / "empty.txt")


def test_window_spans_tile_the_video_with_a_partial_last_window() -> None:
    assert window_spans(9.0, 4.0) == [Span(0.0, 4.0), Span(4.0, 8.0), Span(8.0, 9.0)]
    assert window_spans(8.0, 4.0) == [Span(0.0, 4.0), Span(4.0, 8.0)]
    assert window_spans(0.0, 4.0) == []


def test_segment_embeddings_weight_frames_by_coverage() -> None:
    emb = np.eye(3, dtype=np.float32)  # frames at 0, 1, 2 s stand for [0, .5), [.5, 1.5), [1.5, 3)
    ts = np.array([0.0, 1.0, 2.0])
    out = segment_embeddings(emb, ts, 3.0, [Span(0.0, 1.0), Span(1.1, 1.2), Span(0.0, 3.0)])
    np.testing.assert_allclose(out[0], np.array([1, 1, 0]) / np.sqrt(2), atol=1e-6)  # 0.5 s of each
    np.testing.assert_allclose(out[1], [0, 1, 0], atol=1e-6)  # shorter than a step: the covering frame
    w = np.array([0.5, 1.0, 1.5])
    np.testing.assert_allclose(out[2], w / np.linalg.norm(w), atol=1e-6)


def test_classify_per_video_window_and_shot(video: Path) -> None:
    encoder = ColorHistEncoder()
    from chronolens.ingest import embed_file

    emb, ts, duration = embed_file(video, encoder=encoder, sampling=FixedFps(fps=10))
    source = VideoEmbeddings(
        path=str(video), embeddings=emb, timestamps=ts, duration=duration, encoder=encoder
    )
    whole = classify_embeddings(source, LABELS, top_k=2)
    assert [t.label for t in whole.video_top] == ["red", "blue"] and whole.segments == ()
    assert whole.video_top[0].prob > whole.video_top[1].prob

    windows = classify_embeddings(source, LABELS, per="window", window=1.0, top_k=1)
    labels = [s.top[0].label for s in windows.segments]  # [1, 2) and [3, 4) are half one, half the other
    assert len(labels) == 5 and (labels[0], labels[2], labels[4]) == ("blue", "red", "yellow")
    assert windows.segments[-1].span == Span(4.0, duration)  # the last, partial window

    shots = [Span(0.0, 1.5), Span(1.5, 3.5), Span(3.5, duration)]
    per_shot = classify_embeddings(source, LABELS, per="shot", shots=shots, top_k=1)
    assert [s.top[0].label for s in per_shot.segments] == ["blue", "red", "yellow"]
    assert per_shot.to_json()["segments"][2]["labels"][0]["label"] == "yellow"
    with pytest.raises(ChronolensError, match="needs the video's shots"):
        classify_embeddings(source, LABELS, per="shot")
    empty = VideoEmbeddings(
        path="x.mp4",
        embeddings=np.zeros((0, 8), np.float32),
        timestamps=np.zeros(0),
        duration=0.0,
        encoder=encoder,
    )
    with pytest.raises(ChronolensError, match="zero-frame"):
        classify_embeddings(empty, LABELS)


def test_library_videos_use_stored_embeddings(tmp_path: Path, video: Path) -> None:
    encoder = CountingEncoder()
    lib = Library.open(tmp_path / "lib", encoder=encoder, sampling=FixedFps(fps=10))
    chronolens.index(lib, [video.parent], progress=False)
    seen = encoder.images_seen
    with lib:
        (result,) = classify(video, LABELS, library=lib, top_k=1)
    assert result.video_top[0].label == "red"
    assert encoder.images_seen == seen  # not decoded again: the library's embeddings
    assert result.model == "testcolor:count"


def test_cli_classify_json_and_errors(
    tmp_path: Path, video: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no default library here
    argv = ["classify", str(video.parent), "--labels", "red,blue,yellow", "--model", "testcolor:x"]
    assert main([*argv, "--per", "window", "--window", "2", "--top-k", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (entry,) = out["videos"]
    assert out["labels"] == ["red", "blue", "yellow"] and entry["labels"][0]["label"] == "red"
    assert [s["labels"][0]["label"] for s in entry["segments"]] == ["blue", "red", "yellow"]

    assert main([*argv[:2], "--labels", "red,Red", "--model", "testcolor:x"]) == 1
    assert "duplicate label" in capsys.readouterr().err
    assert main([*argv[:2], "--labels-file", str(tmp_path / "nope.txt")]) == 1
    err = capsys.readouterr().err
    assert "no such labels file" in err and len(err.strip().splitlines()) == 1
    assert main(["classify", str(video), "--labels", "red", "--model", "testcolr:x"]) == 1
    assert "testcolr" in capsys.readouterr().err
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert main(["classify", str(empty), "--labels", "red,blue", "--model", "testcolor:x"]) == 1
    err = capsys.readouterr().err
    assert "empty.mp4" in err and len(err.strip().splitlines()) == 1
