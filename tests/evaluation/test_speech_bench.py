"""bench speech: the set's invariants, the transcription and retrieval scores, the CLI end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chronolens.cli.main import main
from chronolens.data.synth.speech import espeak_available
from chronolens.evaluation.speech import random_retrieval, score_retrieval, score_transcripts
from chronolens.evaluation.speech_set import N_SILENT, SENTENCES, SpeechVideo, SpokenTruth, speech_queries
from chronolens.speech.base import Segment, Transcript

STOP = {"a", "an", "the", "of", "to", "in", "on", "at", "and", "it", "is", "we", "you", "your", "by", "this"}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower())) - STOP


def test_every_phrase_is_in_its_sentence_and_no_paraphrase_shares_a_content_word() -> None:
    for sentence, phrase, paraphrase in SENTENCES:
        assert phrase.lower() in sentence.lower(), phrase
        assert not _words(paraphrase) & _words(sentence), (paraphrase, sentence)
    assert len({s for s, _, _ in SENTENCES}) == len(SENTENCES)


def _video(
    path: str, spans: list[tuple[float, float]], snr: float | None = None, first: int = 0
) -> SpeechVideo:
    sentences = tuple(
        SpokenTruth(index=i, text=SENTENCES[i][0], start=s, end=e) for i, (s, e) in enumerate(spans, first)
    )
    return SpeechVideo(path=path, duration=20.0, voice="en-us", speed=160, snr_db=snr, sentences=sentences)


def _transcript(video: SpeechVideo, shift: float = 0.0, text: str | None = None) -> Transcript:
    segments = tuple(
        Segment(start=s.start + shift, end=s.end + shift, text=text if text is not None else s.text)
        for s in video.sentences
    )
    return Transcript(segments=segments, model="fake", language="en")


def test_transcription_scores_per_condition() -> None:
    clean = _video("a.mp4", [(1.0, 4.0), (6.0, 9.0)])
    noisy = _video("b.mp4", [(1.0, 3.0)], snr=10.0)
    silent = SpeechVideo(path="c.mp4", duration=6.0, voice="en-us", speed=160, snr_db=None, sentences=())
    made_up = Transcript(segments=(Segment(start=2.0, end=3.0, text="You"),), model="fake", language="en")
    rows = {
        r.condition: r
        for r in score_transcripts(
            [clean, noisy, silent],
            [_transcript(clean, shift=0.5), _transcript(noisy, text="wrong words entirely"), made_up],
        )
    }
    assert list(rows) == ["clean", "snr 10 dB", "silent", "all"]
    assert rows["clean"].wer == 0.0 and rows["clean"].start_error == pytest.approx(0.5)
    assert rows["clean"].end_error == pytest.approx(0.5) and rows["clean"].matched == 2
    n_words = len(SENTENCES[0][0].split())
    assert rows["snr 10 dB"].wer == pytest.approx(n_words / n_words)  # 3 substitutions + deletions: all wrong
    assert rows["silent"].segments == 1  # the made-up "You" is counted, not scored as WER
    assert rows["all"].videos == 2 and rows["all"].matched == 3


def test_retrieval_scores_an_oracle_a_wrong_searcher_and_random() -> None:
    videos = [_video(f"v{i}.mp4", [(1.0 + i, 4.0 + i)], first=i) for i in range(4)]
    queries = speech_queries(videos)
    assert len(queries) == 8 and {q.kind for q in queries} == {"lexical", "semantic"}
    truth = {q.text: q for q in queries}

    def oracle(text: str) -> list[tuple[str, float, float, float]]:
        q = truth[text]
        return [(q.video, q.start, q.end, 1.0)]

    def late(text: str) -> list[tuple[str, float, float, float]]:
        q = truth[text]
        return [(q.video, q.end, q.end + 3.0, 1.0)]  # right video, moment past the sentence

    rows = {(r.searcher, r.kind): r for r in score_retrieval("oracle", oracle, queries)}
    assert rows["oracle", "all"].r_at_1 == 100.0 and rows["oracle", "all"].r1_at_05 == 100.0
    assert rows["oracle", "all"].r1_inside == 100.0
    late_rows = {r.kind: r for r in score_retrieval("late", late, queries)}
    assert late_rows["all"].r_at_1 == 100.0 and late_rows["all"].r1_at_05 == 0.0
    assert late_rows["all"].r1_inside == 0.0
    nothing = {r.kind: r for r in score_retrieval("none", lambda text: [], queries)}
    assert nothing["lexical"].r_at_1 == 0.0
    rand = {r.kind: r for r in random_retrieval(videos, queries)}
    assert rand["all"].r_at_1 == pytest.approx(25.0)
    assert 0.0 < rand["all"].r1_at_05 < 25.0
    assert rand["all"].r1_inside == pytest.approx(25.0 * 3.0 / 20.0)  # 3 s sentences in 20 s videos


@pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng: apt-get install espeak-ng")
def test_cli_bench_speech_with_subtitles_is_exact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from chronolens.evaluation.speech_set import render_speech_set
    from chronolens.speech.formats import to_srt

    data, n = tmp_path / "set", N_SILENT + 3
    speech_set = render_speech_set(data, n_videos=n, seed=3, size=64)
    for video in speech_set.videos:
        Path(video.path).with_suffix(".srt").write_text(to_srt(_transcript(video)), encoding="utf-8")
    args = ["bench", "speech", "--data", str(data), "--videos", str(n), "--seed", "3", "--size", "64"]
    assert main([*args, "--model", "subtitles", "--text-encoder", "none", "--json", "-q"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {r["condition"]: r for r in report["transcription"]}
    assert rows["all"]["wer"] == 0.0 and rows["all"]["matched"] == 6 and rows["all"]["missed"] == 0
    assert rows["all"]["start_error"] < 0.001  # srt keeps milliseconds
    assert rows["silent"]["segments"] == 0
    scores = {(r["searcher"], r["kind"]): r for r in report["retrieval"]}
    # the subtitles are the truth: lexical search over them equals the oracle's, and finds the
    # sentence's video and span for every phrase it contains
    figures = ("queries", "r_at_1", "r1_at_05")
    asr, oracle = scores["speech lexical", "lexical"], scores["oracle lexical", "lexical"]
    assert [asr[k] for k in figures] == [oracle[k] for k in figures]
    assert scores["speech lexical", "lexical"]["r_at_1"] == 100.0
    assert scores["speech lexical", "lexical"]["r1_at_05"] == 100.0
    assert scores["random", "all"]["r_at_1"] == pytest.approx(100 / n)
    assert ("speech semantic", "all") not in scores  # --text-encoder none: lexical only
    assert set(report["index_seconds"]) == {"visual", "+ speech"}
    captions = [e.caption for v in speech_set.videos for e in v.events]
    assert scores["visual", "visual"]["queries"] == sum(captions.count(c) == 1 for c in captions) > 0
    again = render_speech_set(data, n_videos=n, seed=3, size=64)  # reused, not rendered again
    assert again.videos == speech_set.videos
