"""index_speech: transcripts into the library, incremental, no-audio and corrupt audio, kill-safe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.library.colorhist import ColorHistEncoder
from tests.speech.speech_library import COOKING_TEXTS, library_backend, make_videos

import chronolens
from chronolens.ingest.speech import index_speech
from chronolens.library.transcripts import lexical_search, load_transcript, speech_runs
from chronolens.speech import Transcript


@pytest.fixture
def library(tmp_path: Path) -> chronolens.Library:
    videos = make_videos(tmp_path / "videos")
    lib = chronolens.Library.open(tmp_path / "lib", encoder=ColorHistEncoder("testcolor:speech"))
    report = chronolens.index(lib, list(videos.values()), progress=False)
    assert len(report.indexed) == 4  # corrupt audio does not stop the visual index
    return lib


def _id(lib: chronolens.Library, name: str) -> int:
    return next(r.id for r in lib.indexed().values() if Path(r.path).stem == name)


def test_transcripts_are_stored_with_times_and_the_run(library: chronolens.Library) -> None:
    backend = library_backend()
    report = index_speech(library, backend, progress=False)
    assert sorted(Path(p).stem for p in report.transcribed) == ["cooking", "garage"]
    assert [Path(p).stem for p in report.no_audio] == ["mute"]
    assert [Path(p).stem for p in report.failed] == ["bad"] and "audio" in next(iter(report.failed.values()))
    assert report.n_segments == 3
    cooking = load_transcript(library.catalog, _id(library, "cooking"))
    assert cooking is not None
    assert [(round(s.start, 2), round(s.end, 2), s.text) for s in cooking.segments] == [
        (1.0, 2.0, COOKING_TEXTS[0]),
        (3.0, 4.5, COOKING_TEXTS[1]),
    ]
    assert cooking.segments[0].words[0].text == "now" and cooking.model == backend.name
    mute = load_transcript(library.catalog, _id(library, "mute"))
    assert mute is not None and mute.has_audio is False
    runs = speech_runs(library.catalog)
    assert runs[_id(library, "bad")].status == "failed"
    assert library.manifest.speech == {"model": backend.name, "sha256": backend.fingerprint}
    on_disk = json.loads((library.root / "manifest.json").read_text())
    assert on_disk["speech"] == {"model": backend.name, "sha256": backend.fingerprint}
    assert len(library.indexed()) == 4  # the visual index is untouched
    assert [h.start for h in lexical_search(library.catalog, "flour")] == [pytest.approx(1.0, abs=0.01)]


def test_reindex_is_incremental(library: chronolens.Library) -> None:
    index_speech(library, library_backend(), progress=False)
    again = library_backend()
    report = index_speech(library, again, progress=False)
    assert len(report.unchanged) == 4 and not report.transcribed and again.calls == []
    retried = index_speech(library, again, retry_failed=True, progress=False)
    assert list(retried.failed) and len(retried.unchanged) == 3
    other = library_backend()
    other.name = "fake:other-model"
    assert len(index_speech(library, other, progress=False).transcribed) == 2  # a new model: all again


class Interrupting:
    """Wraps a backend and raises KeyboardInterrupt on its second call."""

    def __init__(self) -> None:
        self.inner = library_backend()
        self.name, self.fingerprint, self.n = self.inner.name, self.inner.fingerprint, 0

    def transcribe(self, samples, *, start=0.0, language=None) -> Transcript:  # type: ignore[no-untyped-def]
        self.n += 1
        if self.n == 2:
            raise KeyboardInterrupt
        return self.inner.transcribe(samples, start=start, language=language)


def test_interrupt_loses_only_the_video_in_flight(library: chronolens.Library) -> None:
    with pytest.raises(KeyboardInterrupt):
        index_speech(library, Interrupting(), progress=False)  # type: ignore[arg-type]
    runs = speech_runs(library.catalog)
    assert len(runs) == 2  # bad.mkv failed (no transcribe call), cooking.mkv done; garage.mkv lost
    resumed = index_speech(library, library_backend(), progress=False)
    assert len(resumed.unchanged) == 2 and [Path(p).stem for p in resumed.transcribed] == ["garage"]


def test_subtitles_are_a_transcript_source(library: chronolens.Library) -> None:
    cooking = library.root.parent / "videos" / "cooking.srt"
    cooking.write_text("1\n00:00:01,000 --> 00:00:02,500\nWe bake bread today.\n", encoding="utf-8")
    report = index_speech(library, None, progress=False)
    assert [Path(p).stem for p in report.transcribed] == ["cooking"] and len(report.no_audio) == 3
    assert len(index_speech(library, None, progress=False).unchanged) == 4
    cooking.write_text("1\n00:00:01,000 --> 00:00:02,500\nWe bake cakes today.\n", encoding="utf-8")
    assert [Path(p).stem for p in index_speech(library, None, progress=False).transcribed] == ["cooking"]
    assert [h.text for h in lexical_search(library.catalog, "cakes")] == ["We bake cakes today."]
