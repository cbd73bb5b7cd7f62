"""`chronolens index --speech` and `chronolens search --modality`: end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.speech.speech_library import make_videos, register_fakespeech

from chronolens.cli.main import main

# The colour-histogram test encoder (tests.library.colorhist); also the --text-encoder here, so the
# default tier never loads MiniLM (its text side knows colour words only).
MODEL = "testcolor:speech-cli"
# Said in cooking.mkv (green) at 1-2 s and in garage.mkv (red) at 0.5-1.5 s: the fake backend
# labels the i-th loud stretch of every video with the i-th text.
SAID = "fakespeech:we add flour|stir slowly"


@pytest.fixture
def videos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    register_fakespeech(monkeypatch)
    make_videos(tmp_path / "videos")
    return tmp_path / "videos"


def _json(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 0) -> dict:  # type: ignore[type-arg]
    capsys.readouterr()
    assert main(argv) == code
    return json.loads(capsys.readouterr().out)


def test_index_speech_then_search_both(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = str(tmp_path / "lib")
    report = _json(
        capsys, ["-q", "index", str(videos), "--library", lib, "--model", MODEL, "--speech", SAID, "--json"]
    )
    assert len(report["indexed"]) == 4
    speech = report["speech"]
    assert sorted(Path(p).stem for p in speech["transcribed"]) == ["cooking", "garage"]
    assert [Path(p).stem for p in speech["no_audio"]] == ["mute"] and [
        Path(p).stem for p in speech["failed"]
    ] == ["bad"]
    again = _json(capsys, ["-q", "index", str(videos), "--library", lib, "--speech", SAID, "--json"])
    assert len(again["speech"]["unchanged"]) == 4
    out = _json(
        capsys,
        ["search", "flour", "--library", lib, "--modality", "speech", "--text-encoder", MODEL, "--json"],
    )
    assert out["modality"] == "speech"
    assert {Path(r["video"]).stem for r in out["results"]} == {"cooking", "garage"}
    first = out["results"][0]
    assert first["modality"] == "speech" and first["said"][0] == "we add flour"
    # "we add flour" over the first stretch (1 s long in both videos): trimmed to its last third.
    assert first["moments"][0][1] - first["moments"][0][0] == pytest.approx(1 / 3, abs=0.01)
    both = ["search", "green flour", "--library", lib, "--text-encoder", MODEL, "--json"]
    default = _json(capsys, [*both, "--speech-gate", "off"])  # plain reciprocal-rank fusion
    assert default["modality"] == "both"  # the library has transcripts
    top = default["results"][0]
    assert Path(top["video"]).stem == "cooking" and top["modality"] == "both"  # seen green and said flour
    # the test encoder gives "green flour" no meaning in common with "we add flour": under the
    # default gate the frames lead and the speech is left out
    gated = _json(capsys, both)["results"]
    assert Path(gated[0]["video"]).stem == "cooking" and all(r["modality"] == "visual" for r in gated)
    visual = _json(capsys, ["search", "green", "--library", lib, "--modality", "visual", "--json"])
    assert visual["modality"] == "visual" and all(r["modality"] == "visual" for r in visual["results"])


def test_default_is_visual_without_transcripts_and_subtitles_work(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = str(tmp_path / "lib")
    assert main(["-q", "index", str(videos), "--library", lib, "--model", MODEL]) == 0
    assert set(_json(capsys, ["search", "green", "--library", lib, "--json"])) == {"query", "results"}
    (videos / "garage.srt").write_text("1\n00:00:00,500 --> 00:00:01,500\nPark the car.\n", encoding="utf-8")
    report = _json(capsys, ["-q", "index", str(videos), "--library", lib, "--speech", "subtitles", "--json"])
    assert [Path(p).stem for p in report["speech"]["transcribed"]] == ["garage"]
    out = _json(
        capsys,
        ["search", '"the car"', "--library", lib, "--modality", "speech", "--text-encoder", MODEL, "--json"],
    )
    assert [r["moments"][0][:2] for r in out["results"]] == [[0.5, 1.5]]  # subtitles: no word times
    capsys.readouterr()
    assert main(["search", "car", "--library", lib, "--modality", "speech", "--text-encoder", MODEL]) == 0
    assert '"Park the car."' in capsys.readouterr().out


def test_unknown_speech_backend_fails_before_indexing(videos: Path, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    assert (
        main(["-q", "index", str(videos), "--library", str(lib), "--model", MODEL, "--speech", "wisper:x"])
        == 1
    )
    assert not lib.exists()


def test_interrupted_speech_pass_keeps_a_new_library(
    videos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.speech.fake_backend import FakeBackend

    from chronolens.library.transcripts import speech_runs
    from chronolens.speech import registry

    class Interrupting(FakeBackend):
        def transcribe(self, samples, *, start=0.0, language=None):  # type: ignore[no-untyped-def]
            if self.calls:
                raise KeyboardInterrupt
            return super().transcribe(samples, start=start, language=language)

    registry.register_speech_scheme("interrupt", usage="interrupt:<x>", description="test")(
        lambda ref, options: Interrupting(["we add flour"], name="interrupt:x")
    )
    lib = tmp_path / "lib"
    assert (
        main(["-q", "index", str(videos), "--library", str(lib), "--model", MODEL, "--speech", "interrupt:x"])
        == 130
    )
    import chronolens

    with chronolens.Library.open(lib) as library:  # the new library and its visual index stay
        assert len(library.indexed()) == 4
        assert len(speech_runs(library.catalog)) == 2  # bad.mkv (failed) and the first transcribed
