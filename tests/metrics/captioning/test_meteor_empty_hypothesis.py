"""METEOR on corpora holding empty hypotheses: scored as pycocoevalcap 1.2 scores them.

pycocoevalcap sends an empty hypothesis to the jar as it is (the SCORE line ends in ``||| ``);
the jar gives that id 0.0 and its statistics (hypothesis length 0, reference length > 0) still
enter the corpus score. The default-tier tests run a stand-in jar that speaks the same line
protocol and keeps reference lengths in its statistics, so a corpus score that dropped the empty
ids, or averaged the per-id scores, would differ from the pooled one. The ``slow`` tests run the
real jar: against figures pycocoevalcap 1.2 printed, and against pycocoevalcap itself when it is
importable.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from chronolens.metrics.captioning import evaluate_captions
from chronolens.metrics.captioning.meteor import MeteorScorer, find_meteor_jar, meteor

meteor_module = importlib.import_module("chronolens.metrics.captioning.meteor")
evaluate_module = importlib.import_module("chronolens.metrics.captioning.evaluate")

# SCORE ||| refs ||| hyp -> "<hyp words found in refs> <hyp words> <words of the longest ref>";
# EVAL ||| stats... -> 2m/(h+r) per id, then the pooled 2*sum(m)/sum(h+r). Every line it reads
# is appended to wire.log.
FAKE_JAR = textwrap.dedent(
    """
    import os, sys
    here = os.path.dirname(os.path.abspath(__file__))
    for line in sys.stdin:
        with open(os.path.join(here, "wire.log"), "a") as log:
            log.write(line)
        parts = [p.strip() for p in line.rstrip("\\n").split("|||")]
        if parts[0] == "SCORE":
            refs, hyp = parts[1:-1], parts[-1].split()
            vocab = {w for r in refs for w in r.split()}
            longest = max(len(r.split()) for r in refs)
            print(f"{sum(w in vocab for w in hyp)} {len(hyp)} {longest}", flush=True)
        elif parts[0] == "EVAL":
            stats = [tuple(map(float, s.split())) for s in parts[1:]]
            for m, h, r in stats:
                print(2 * m / (h + r), flush=True)
            print(2 * sum(s[0] for s in stats) / sum(s[1] + s[2] for s in stats), flush=True)
    """
)

GTS = {
    "a": ["a man is riding a horse", "a person rides a horse"],
    "b": ["a dog runs in the park", "the dog is running"],
    "c": ["two people are talking", "a man and a woman talk"],
}
HYPS = {"a": "a man rides a horse", "c": "two people talk"}
# Hypotheses that are empty as the jar sees them (each checked against pycocoevalcap 1.2 + Java).
EMPTY_HYPOTHESES = ["", " ", "  ", "|||", " ||| "]


def _reference_score_line(references: list[str], hypothesis: str) -> str:
    """pycocoevalcap 1.2 ``Meteor._stat``'s request line, copied verbatim."""
    hypothesis_str = hypothesis.replace("|||", "").replace("  ", " ")
    return " ||| ".join(("SCORE", " ||| ".join(references), hypothesis_str))


def _fake_expected(gts: dict[str, list[str]], res: dict[str, list[str]]) -> tuple[float, list[float]]:
    stats = []
    for key, refs in gts.items():
        hyp = res[key][0].replace("|||", "").replace("  ", " ").split()
        vocab = {w for r in refs for w in r.split()}
        stats.append((sum(w in vocab for w in hyp), len(hyp), max(len(r.split()) for r in refs)))
    per_id = [2 * m / (h + r) for m, h, r in stats]
    return 2 * sum(s[0] for s in stats) / sum(s[1] + s[2] for s in stats), per_id


@pytest.fixture
def jar_dir(tmp_path: Path) -> Path:
    (tmp_path / "fake_meteor.py").write_text(FAKE_JAR)
    return tmp_path


def _scorer(jar_dir: Path) -> MeteorScorer:
    return MeteorScorer([sys.executable, "-S", str(jar_dir / "fake_meteor.py")], cwd=jar_dir)


@pytest.mark.parametrize("empty", EMPTY_HYPOTHESES)
def test_empty_hypothesis_is_sent_as_pycocoevalcap_sends_it_and_scores_zero(
    jar_dir: Path, empty: str
) -> None:
    res = {"a": [HYPS["a"]], "b": [empty], "c": [HYPS["c"]]}
    with _scorer(jar_dir) as scorer:
        corpus, per_id = scorer.score(GTS, res)
    wire = (jar_dir / "wire.log").read_text().splitlines()
    assert wire[:3] == [_reference_score_line(GTS[key], res[key][0]) for key in GTS]
    assert wire[1].rstrip(" ").endswith(" |||")  # the jar sees an empty last field
    assert wire[3] == "EVAL ||| 5 5 6 ||| 0 0 6 ||| 3 3 6"  # the empty id's stats are pooled too
    assert per_id[1] == 0.0
    want_corpus, want_per_id = _fake_expected(GTS, res)
    assert corpus == pytest.approx(want_corpus) and per_id == pytest.approx(want_per_id)
    # The corpus score is the jar's pooled one over all three ids: neither the score without the
    # empty id nor the mean of the per-id scores.
    without_b = _fake_expected({k: GTS[k] for k in HYPS}, {k: [v] for k, v in HYPS.items()})[0]
    assert corpus == pytest.approx(2 * 8 / 26) and corpus != pytest.approx(without_b)
    assert corpus != pytest.approx(sum(per_id) / len(per_id))


def test_all_empty_corpus_scores_zero(jar_dir: Path) -> None:
    with _scorer(jar_dir) as scorer:
        assert scorer.score(GTS, {key: [""] for key in GTS}) == (0.0, [0.0, 0.0, 0.0])
        assert scorer.starts == 1 and scorer.calls == 1


def test_evaluate_captions_reports_meteor_when_a_hypothesis_tokenises_to_nothing(
    jar_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scorer = _scorer(jar_dir)
    monkeypatch.setattr(meteor_module, "get_meteor_scorer", lambda: scorer)
    monkeypatch.setattr(evaluate_module, "meteor_unavailable_reason", lambda: None)
    gts_raw = {"a": ["A man is riding a horse."], "b": ["A dog runs in the park."]}
    res_raw = {"a": ["A man rides a horse."], "b": ["..."]}  # PTB tokenisation leaves ''
    try:
        out = evaluate_captions(gts_raw, res_raw)
        direct = meteor(
            {"a": ["a man is riding a horse"], "b": ["a dog runs in the park"]},
            {"a": ["a man rides a horse"], "b": [""]},
        )
    finally:
        scorer.close()
    assert "notes" not in out
    assert direct is not None and direct[1][1] == 0.0
    assert (
        out["METEOR"] == pytest.approx(direct[0]) == pytest.approx(2 * 4 / (5 + 6 + 0 + 6))
    )  # "rides" is in no reference of a


needs_jar = pytest.mark.skipif(
    shutil.which("java") is None or find_meteor_jar() is None, reason="needs java + meteor-1.5.jar"
)


@pytest.mark.slow
@needs_jar
def test_real_jar_gives_pycocoevalcap_figures_for_an_empty_hypothesis() -> None:
    # Printed by pycocoevalcap 1.2 ``Meteor().compute_score`` (Java 17) on these corpora.
    res = {"a": [HYPS["a"]], "b": [""], "c": [HYPS["c"]]}
    with MeteorScorer.for_jar() as scorer:
        corpus, per_id = scorer.score(GTS, res)
        without_b = scorer.score({k: GTS[k] for k in HYPS}, {k: [v] for k, v in HYPS.items()})
    assert corpus == pytest.approx(0.5229069641503303, abs=1e-12)
    assert per_id == pytest.approx([0.890909090909091, 0.0, 0.7372134038800705], abs=1e-12)
    assert without_b[0] == pytest.approx(0.8374674761491759, abs=1e-12)


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("java") is None or importlib.util.find_spec("pycocoevalcap") is None,
    reason="needs java + pycocoevalcap (pip install 'chronolens[meteor]')",
)
def test_real_jar_matches_live_pycocoevalcap_on_empty_hypotheses() -> None:
    reference_module = importlib.import_module("pycocoevalcap.meteor.meteor")
    jar = Path(reference_module.__file__).resolve().parent / "meteor-1.5.jar"
    corpora = [{"a": [HYPS["a"]], "b": [empty], "c": [HYPS["c"]]} for empty in EMPTY_HYPOTHESES]
    corpora.append({key: [""] for key in GTS})
    corpora.append({"a": [""], "b": ["a dog"], "c": [""]})
    reference = reference_module.Meteor()
    try:
        with MeteorScorer.for_jar(jar) as scorer:
            for res in corpora:
                want = reference.compute_score(GTS, res)
                got = scorer.score(GTS, res)
                assert got == (want[0], want[1]), res  # bit for bit: the same jar and the same lines
    finally:
        del reference  # its __del__ kills its jar
