"""transcribe_file and ``chronolens transcribe``: the audio's clock reaches the transcript, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.speech.fake_backend import FakeBackend, ProgressBackend

from chronolens.cli.main import main
from chronolens.errors import ChronolensError
from chronolens.speech import find_subtitles, parse_srt, parse_vtt, read_subtitles, registry, transcribe_file
from chronolens.video.audio import Audio, AudioDecodeError, write_video_with_audio

FRAMES = [np.full((48, 64, 3), 80, dtype=np.uint8)] * 30  # 3 s at 10 fps


def bursts(spans: list[tuple[float, float]], seconds: float, rate: int = 16_000) -> np.ndarray:
    """Noise bursts (amplitude 0.3) over ``spans`` (seconds into the track), silence elsewhere."""
    x = np.zeros(round(seconds * rate), dtype=np.float32)
    rng = np.random.default_rng(0)
    for a, b in spans:
        x[round(a * rate) : round(b * rate)] = rng.uniform(-0.3, 0.3, round(b * rate) - round(a * rate))
    return x


@pytest.fixture
def spoken(tmp_path: Path) -> Path:
    """A video whose audio starts 0.5 s in and has sound at 1.0-1.5 s and 2.0-2.6 s of the video."""
    track = bursts([(0.5, 1.0), (1.5, 2.1)], 2.5)
    return write_video_with_audio(tmp_path / "talk.mkv", FRAMES, Audio(track, 16_000, 0.5), fps=10,
                                  audio_codec="flac", video_codec="ffv1")  # fmt: skip


def test_times_are_on_the_video_clock(spoken: Path) -> None:
    backend = FakeBackend(["hello there", "general kenobi"])
    transcript = transcribe_file(spoken, backend, language="en")
    (call,) = backend.calls
    assert (
        call["start"] == pytest.approx(0.5, abs=1e-3)
        and call["dtype"] == np.float32
        and call["language"] == "en"
    )
    assert [(round(s.start, 2), round(s.end, 2), s.text) for s in transcript.segments] == [
        (1.0, 1.5, "hello there"),
        (2.0, 2.6, "general kenobi"),
    ]
    assert transcript.segments[1].words[0].start == pytest.approx(2.0, abs=0.01)
    assert transcript.duration == pytest.approx(2.5, abs=0.01)  # filled in from the audio
    assert transcript.has_audio and transcript.model == "fake:loud"


def test_no_audio_stream_gives_an_empty_transcript(make_video) -> None:  # type: ignore[no-untyped-def]
    backend = FakeBackend(["never"])
    transcript = transcribe_file(make_video("mute.mkv", n_frames=5), backend)
    assert transcript.has_audio is False and transcript.segments == () and transcript.model == "fake:loud"
    assert backend.calls == []


def test_corrupt_audio_raises(tmp_path: Path) -> None:
    track = Audio(bursts([(0, 2)], 2.0), 16_000, 0.0)
    path = write_video_with_audio(tmp_path / "bad.mkv", FRAMES, track, fps=10,
                                  audio_codec="pcm_s16le", video_codec="ffv1")  # fmt: skip
    data = bytearray(path.read_bytes())
    at = data.find(b"A_PCM")  # the codec id: unreadable audio codec parameters
    data[at : at + 5] = b"A_XYZ"
    path.write_bytes(bytes(data))
    with pytest.raises(AudioDecodeError, match=r"audio stream decodes to no samples \(1 of 1 packets failed"):
        transcribe_file(path, FakeBackend([]))


def test_progress_is_passed_only_to_backends_that_take_it(spoken: Path) -> None:
    backend = ProgressBackend(["a"])
    transcribe_file(spoken, backend, progress=True)
    assert backend.calls[0] == {"progress": True}
    transcribe_file(spoken, FakeBackend(["a"]), progress=True)  # no TypeError for the plain protocol


def test_sidecar_subtitles_are_a_free_transcript(spoken: Path) -> None:
    with pytest.raises(ChronolensError, match=r"no subtitles next to .*talk\.mkv"):
        transcribe_file(spoken, None)
    tagged = spoken.with_name("talk.de.vtt")
    tagged.write_text("WEBVTT\n\n00:01.000 --> 00:02.000\nHallo\n", encoding="utf-8")
    assert find_subtitles(spoken) == tagged
    transcript = transcribe_file(spoken, None)
    assert transcript.language == "de" and transcript.model == "subtitles:talk.de.vtt"
    assert [(s.start, s.end, s.text) for s in transcript.segments] == [(1.0, 2.0, "Hallo")]
    exact = spoken.with_suffix(".srt")
    exact.write_bytes("1\r\n00:00:01,000 --> 00:00:02,000\r\nCaf\xe9\r\n".encode("latin-1"))  # not UTF-8
    assert find_subtitles(spoken) == exact
    assert read_subtitles(exact).segments[0].text == "Café"


@pytest.fixture
def fake_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    """``fake:<texts separated by |>`` loads a FakeBackend (registered for this test only)."""
    spec = registry._Scheme(
        usage="fake:<texts>", description="test", builder=lambda ref, options: FakeBackend(ref.split("|"))
    )
    monkeypatch.setitem(registry._SCHEMES, "fake", spec)


def test_cli_prints_srt_by_default(
    spoken: Path, fake_scheme: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transcribe", str(spoken), "--model", "fake:hello there|general kenobi", "-q"]) == 0
    out = capsys.readouterr().out
    assert [(s.start, s.end, s.text) for s in parse_srt(out)] == [
        (1.0, 1.5, "hello there"),
        (2.0, 2.6, "general kenobi"),
    ]


@pytest.mark.parametrize("fmt", ["srt", "vtt", "json", "txt"])
def test_cli_writes_each_format(spoken: Path, fake_scheme: None, tmp_path: Path, fmt: str,
                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / f"talk.{fmt}"
    assert main(["transcribe", str(spoken), "--model", "fake:hi|bye", "--output", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and f"wrote 2 segment(s) to {out}" in captured.err
    text = out.read_text(encoding="utf-8")
    if fmt == "srt":
        assert [s.text for s in parse_srt(text)] == ["hi", "bye"]
    elif fmt == "vtt":
        assert [round(s.start, 1) for s in parse_vtt(text)] == [1.0, 2.0]
    elif fmt == "json":
        assert [s["text"] for s in json.loads(text)["segments"]] == ["hi", "bye"]
    else:
        assert text == "hi\nbye\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # atomic: no temp file left


def test_cli_usage_errors_and_missing_audio(
    spoken: Path,
    fake_scheme: None,
    make_video,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    assert main(["transcribe", str(spoken), "--model", "fake:x", "--output", "talk.ass"]) == 2
    assert "add --format" in capsys.readouterr().err
    assert main(["transcribe", str(spoken), "--model", "fake:x", "--language", ""]) == 2
    capsys.readouterr()
    assert main(["transcribe", str(spoken), "--model", "fakke:x"]) == 1
    assert "did you mean 'fake:'?" in capsys.readouterr().err
    mute = make_video("mute.mkv", n_frames=5)
    assert main(["transcribe", str(mute), "--model", "fake:x", "--json"]) == 0
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert (
        payload["has_audio"] is False and payload["video"] == str(mute) and "no audio stream" in captured.err
    )
    assert main(["transcribe", str(mute), "--model", "fake:x", "--json", "--format", "srt"]) == 2


def test_cli_reads_sidecar_subtitles(spoken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spoken.with_suffix(".srt").write_text(
        "1\n00:00:01,000 --> 00:00:02,000\nfrom the file\n", encoding="utf-8"
    )
    assert main(["transcribe", str(spoken), "--model", "subtitles", "--format", "txt"]) == 0
    assert capsys.readouterr().out == "from the file\n"
