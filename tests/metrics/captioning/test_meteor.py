"""MeteorScorer process reuse, restart and timeouts, against a stand-in speaking the jar's protocol.

The stand-in answers ``SCORE ||| refs ||| hyp`` with ``"<matches> <hyp words>"`` and
``EVAL ||| stats...`` with one ratio per stats entry and then the pooled ratio, like the jar's
per-segment and corpus lines. Special hypotheses make it crash, crash once, or hang. Every start
appends ``<pid> <cwd>`` to ``starts.log`` so tests count processes independently of the scorer.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import shutil
import signal
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from chronolens.errors import ChronolensError, MissingDependencyError
from chronolens.metrics.captioning.meteor import MeteorScorer, find_meteor_jar, get_meteor_scorer, meteor

meteor_module = importlib.import_module("chronolens.metrics.captioning.meteor")

FAKE_JAR = textwrap.dedent(
    """
    import os, sys, time
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "starts.log"), "a") as log:
        log.write(f"{os.getpid()} {os.getcwd()}\\n")
    for line in sys.stdin:
        parts = [p.strip() for p in line.rstrip("\\n").split("|||")]
        if parts[0] == "SCORE":
            refs, hyp = parts[1:-1], parts[-1].split()
            if hyp == ["crash"]:
                sys.stderr.write("boom: asked to crash\\n")
                sys.stderr.flush()
                sys.exit(3)
            marker = os.path.join(here, "crashed-once")
            if hyp == ["crash-once"] and not os.path.exists(marker):
                open(marker, "w").close()
                sys.exit(4)
            if hyp == ["hang"]:
                time.sleep(3600)
            vocab = {w for r in refs for w in r.split()}
            print(f"{sum(w in vocab for w in hyp)} {len(hyp)}", flush=True)
        elif parts[0] == "EVAL":
            stats = [tuple(map(float, s.split())) for s in parts[1:]]
            for m, h in stats:
                print(m / h, flush=True)
            print(sum(m for m, _ in stats) / sum(h for _, h in stats), flush=True)
        else:
            print("error: unknown command", flush=True)
    """
)


def _expected(gts: dict[str, list[str]], res: dict[str, list[str]]) -> tuple[float, list[float]]:
    matches, lengths = [], []
    for key, refs in gts.items():
        hyp = res[key][0].replace("|||", "").replace("  ", " ").split()
        vocab = {w for r in refs for w in r.split()}
        matches.append(sum(w in vocab for w in hyp))
        lengths.append(len(hyp))
    return sum(matches) / sum(lengths), [m / h for m, h in zip(matches, lengths, strict=True)]


def _assert_scores(got: tuple[float, list[float]] | None, want: tuple[float, list[float]]) -> None:
    assert got is not None
    assert got[0] == pytest.approx(want[0]) and got[1] == pytest.approx(want[1])


def _group(rng: random.Random, n: int) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    words = ["a", "dog", "cat", "runs", "on", "the", "grass", "man", "rides", "horse", "red", "ball"]
    gts = {f"id{i}": [" ".join(rng.choices(words, k=5)) for _ in range(2)] for i in range(n)}
    res = {f"id{i}": [" ".join(rng.choices(words, k=rng.randint(1, 6)))] for i in range(n)}
    return gts, res


@pytest.fixture
def jar_dir(tmp_path: Path) -> Path:
    (tmp_path / "fake_meteor.py").write_text(FAKE_JAR)
    return tmp_path


def _scorer(jar_dir: Path, **kwargs: float) -> MeteorScorer:
    command = [sys.executable, "-S", str(jar_dir / "fake_meteor.py")]
    return MeteorScorer(command, cwd=jar_dir, **kwargs)


def _starts(jar_dir: Path) -> list[str]:
    log = jar_dir / "starts.log"
    return log.read_text().splitlines() if log.exists() else []


def test_one_process_serves_many_calls(jar_dir: Path) -> None:
    rng = random.Random(0)
    with _scorer(jar_dir) as scorer:
        pid = scorer.pid
        assert pid is not None
        for _ in range(25):
            gts, res = _group(rng, rng.randint(1, 8))
            corpus, per_id = scorer.score(gts, res)
            want_corpus, want_per_id = _expected(gts, res)
            assert corpus == pytest.approx(want_corpus) and per_id == pytest.approx(want_per_id)
        assert scorer.pid == pid and scorer.starts == 1 and scorer.calls == 25
    assert _starts(jar_dir) == [f"{pid} {jar_dir}"]  # one process, run in cwd
    assert scorer.pid is None


def test_hypothesis_is_cleaned_like_pycocoevalcap(jar_dir: Path) -> None:
    gts, res = {"a": ["a dog runs", "the cat"]}, {"a": ["a ||| dog  runs"]}
    with _scorer(jar_dir) as scorer:
        _assert_scores(scorer.score(gts, res), (1.0, [1.0]))


def test_many_ids_in_one_call_do_not_deadlock_the_pipes(jar_dir: Path) -> None:
    gts, res = _group(random.Random(1), 3000)  # > 64 KiB of pipelined SCORE lines
    with _scorer(jar_dir) as scorer:
        corpus, per_id = scorer.score(gts, res)
    want_corpus, want_per_id = _expected(gts, res)
    assert corpus == pytest.approx(want_corpus) and per_id == pytest.approx(want_per_id)


def test_dead_process_is_restarted(jar_dir: Path) -> None:
    gts, res = _group(random.Random(2), 4)
    with _scorer(jar_dir) as scorer:
        first = scorer.score(gts, res)
        old_pid = scorer.pid
        assert old_pid is not None
        os.kill(old_pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while scorer.pid is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert scorer.score(gts, res) == first
        assert scorer.starts == 2 and scorer.pid not in (None, old_pid)
    assert len(_starts(jar_dir)) == 2


def test_process_dying_mid_call_is_retried_once_on_a_fresh_process(jar_dir: Path) -> None:
    gts = {"x": ["a dog"], "y": ["crash-once"]}
    res = {"x": ["a cat"], "y": ["crash-once"]}
    with _scorer(jar_dir) as scorer:
        _assert_scores(scorer.score(gts, res), _expected(gts, res))
        assert scorer.starts == 2


def test_process_dying_twice_raises_with_its_stderr(jar_dir: Path) -> None:
    with _scorer(jar_dir) as scorer:
        with pytest.raises(ChronolensError, match=r"exited with code 3: boom: asked to crash"):
            scorer.score({"x": ["a dog"]}, {"x": ["crash"]})
        assert scorer.starts == 2  # the first start and one restart
        _assert_scores(scorer.score({"x": ["a dog"]}, {"x": ["a dog"]}), (1.0, [1.0]))
        assert scorer.starts == 3


def test_hung_process_times_out_and_is_replaced(jar_dir: Path) -> None:
    with _scorer(jar_dir, timeout_s=0.5, startup_timeout_s=5.0) as scorer:
        scorer.score({"x": ["a"]}, {"x": ["a"]})  # let the process finish starting
        hung_pid = scorer.pid
        began = time.monotonic()
        with pytest.raises(ChronolensError, match=r"no answer within \d+ s"):
            scorer.score({"x": ["a dog"]}, {"x": ["hang"]})
        assert time.monotonic() - began < 5
        assert scorer.pid is None  # the hung process was killed, not kept
        _assert_scores(scorer.score({"x": ["a dog"]}, {"x": ["dog"]}), (1.0, [1.0]))
        assert scorer.pid != hung_pid and scorer.starts == 2


def test_forked_child_starts_its_own_process(jar_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scorer = _scorer(jar_dir).start()
    parent_process = scorer._process
    assert parent_process is not None
    monkeypatch.setattr(os, "getpid", lambda: parent_process.owner_pid + 1)  # as seen in a child
    _assert_scores(scorer.score({"x": ["a dog"]}, {"x": ["dog"]}), (1.0, [1.0]))
    child_process = scorer._process
    assert scorer.starts == 2 and child_process is not None and child_process is not parent_process
    assert parent_process.alive()  # the parent's process is left alone ...
    parent_process.close()  # ... even by what an atexit hook in the child would do
    assert parent_process.alive()
    scorer.close()  # the child's own process is killed
    assert not child_process.alive()
    monkeypatch.undo()
    parent_process.close()
    assert not parent_process.alive()


def test_concurrent_callers_share_one_process(jar_dir: Path) -> None:
    results: dict[int, list[bool]] = {}
    with _scorer(jar_dir) as scorer:

        def work(seed: int) -> None:
            rng = random.Random(seed)
            ok = []
            for _ in range(10):
                gts, res = _group(rng, rng.randint(1, 20))
                got = scorer.score(gts, res)
                want = _expected(gts, res)
                ok.append(got[0] == pytest.approx(want[0]) and got[1] == pytest.approx(want[1]))
            results[seed] = ok

        threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert scorer.starts == 1 and scorer.calls == 40
    assert results == {seed: [True] * 10 for seed in range(4)}


def test_invalid_inputs_are_rejected_before_anything_starts(jar_dir: Path) -> None:
    scorer = _scorer(jar_dir)
    with pytest.raises(ValueError, match="at least one id"):
        scorer.score({}, {})
    with pytest.raises(ValueError, match="same ids"):
        scorer.score({"a": ["x"]}, {"b": ["x"]})
    assert scorer.starts == 0 and _starts(jar_dir) == []
    with pytest.raises(ValueError, match="timeout_s"):
        _scorer(jar_dir, timeout_s=0)
    with pytest.raises(ValueError, match="command"):
        MeteorScorer([])


def test_closed_scorer_refuses_and_missing_program_is_a_clear_error(jar_dir: Path) -> None:
    scorer = _scorer(jar_dir).start()
    process = scorer._process
    assert process is not None
    scorer.close()
    scorer.close()
    assert process.process.poll() is not None
    with pytest.raises(ChronolensError, match="closed"):
        scorer.score({"a": ["x"]}, {"a": ["x"]})
    with pytest.raises(ChronolensError, match="cannot start METEOR"):
        MeteorScorer([str(jar_dir / "no-such-java")]).score({"a": ["x"]}, {"a": ["x"]})


def test_shared_scorer_is_reused_and_follows_the_configured_jar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(meteor_module, "_shared", None)
    first_jar, second_jar = tmp_path / "a" / "meteor-1.5.jar", tmp_path / "b" / "meteor-1.5.jar"
    for jar in (first_jar, second_jar):
        jar.parent.mkdir()
        jar.write_bytes(b"")
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/java")
    monkeypatch.setenv(meteor_module.METEOR_JAR_ENV, str(first_jar))
    scorer = get_meteor_scorer()
    assert scorer is not None and get_meteor_scorer() is scorer
    assert scorer.command[0] == "/usr/bin/java" and str(first_jar) in scorer.command
    assert scorer.cwd == first_jar.parent and scorer.starts == 0  # nothing started yet
    monkeypatch.setenv(meteor_module.METEOR_JAR_ENV, str(second_jar))
    other = get_meteor_scorer()
    assert other is not None and other is not scorer and str(second_jar) in other.command
    with pytest.raises(ChronolensError, match="closed"):
        scorer.score({"a": ["x"]}, {"a": ["x"]})
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert get_meteor_scorer() is None
    assert meteor({"a": ["x"]}, {"a": ["x"]}) is None
    other.close()


def test_meteor_function_scores_over_the_shared_scorer(
    jar_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scorer = _scorer(jar_dir)
    monkeypatch.setattr(meteor_module, "get_meteor_scorer", lambda: scorer)
    gts, res = _group(random.Random(3), 5)
    try:
        for _ in range(3):
            _assert_scores(meteor(gts, res), _expected(gts, res))
    finally:
        scorer.close()
    assert scorer.starts == 1 and scorer.calls == 3 and len(_starts(jar_dir)) == 1


def test_for_jar_says_why_it_cannot_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ChronolensError, match="java not found"):
        MeteorScorer.for_jar(tmp_path / "meteor-1.5.jar")
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/java")
    with pytest.raises(ChronolensError, match="is not a file"):
        MeteorScorer.for_jar(tmp_path / "meteor-1.5.jar")
    monkeypatch.setattr(meteor_module, "find_meteor_jar", lambda: None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'chronolens\[meteor\]'"):
        MeteorScorer.for_jar()
    reason = meteor_module.meteor_unavailable_reason()
    assert reason is not None and "pip install 'chronolens[meteor]'" in reason


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("java") is None or find_meteor_jar() is None, reason="needs java + meteor-1.5.jar"
)
def test_real_jar_keeps_pycocoevalcap_scores_across_calls_and_a_restart() -> None:
    case = json.loads((Path(__file__).parent / "fixtures" / "coco_scores.json").read_text())["cases"][
        "random_corpus"
    ]
    want = (case["scores"]["METEOR"]["corpus"], case["scores"]["METEOR"]["per_id"])
    with MeteorScorer.for_jar() as scorer:
        for _ in range(3):
            got = scorer.score(case["gts"], case["res"])
            assert got[0] == pytest.approx(want[0], abs=1e-9) and got[1] == pytest.approx(want[1], abs=1e-9)
        assert scorer.starts == 1
        pid = scorer.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        got = scorer.score(case["gts"], case["res"])
        assert got[0] == pytest.approx(want[0], abs=1e-9) and got[1] == pytest.approx(want[1], abs=1e-9)
        assert scorer.starts == 2
