"""``chronolens bench qa``: video QA accuracy next to random and majority baselines.

Items come from an MVBench / EgoSchema-style json (:mod:`chronolens.data.formats.qa`) or the
synthetic benchmark (:func:`chronolens.data.synth.qa.synth_qa_items`). Answerers:

- a TimeChat checkpoint, multiple choice by ``likelihood`` (each candidate's mean log-probability
  per answer token) or ``generate`` (candidates listed, the answer parsed), or open-ended
  (``ask``; the answer compared with the reference by :func:`chronolens.metrics.qa.evaluate_qa`,
  VQA normalisation);
- an image-text encoder (``encoder``): each candidate's best cosine over the frames
  (:func:`chronolens.tasks.answer.choices.encoder_choice`).

Figures (x100), overall and per question type: ``accuracy``; ``random``, the expected accuracy
of a uniform pick (mean of ``1 / #candidates``; undefined open-ended); ``majority``, always the
most frequent right answer of the question's type among the other scored items (leave-one-out,
so an item's own answer is no prior; multiple choice: the candidate with the highest such count,
ties to the first; open-ended: that answer's exact match); ``parse_failures``, answers naming
no single candidate (``generate``) or empty (open-ended), counted as wrong and listed, never guessed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chronolens.data.formats.qa import QAItem
from chronolens.errors import ChronolensError
from chronolens.metrics.qa import evaluate_qa
from chronolens.progress import progress_bar

__all__ = [
    "QA_MODES",
    "QABenchReport",
    "QAScore",
    "as_open_ended",
    "encoder_answerer",
    "format_qa_report",
    "majority_predictions",
    "resolve_videos",
    "run_qa_bench",
    "timechat_answerer",
]

logger = logging.getLogger(__name__)

QA_MODES: tuple[str, ...] = ("likelihood", "generate", "open", "encoder")

# item -> (predicted candidate index or None, raw text) for multiple choice; text for open-ended
Answerer = Callable[[QAItem, str], tuple[int | None, str]]


@dataclass(frozen=True, kw_only=True)
class QAScore:
    """Accuracy of one group of items (all, or one type), with baselines (x100)."""

    n: int
    accuracy: float
    random: float | None  # None for open-ended questions
    majority: float
    parse_failures: int

    def to_json(self) -> dict[str, Any]:
        """Every field, plus ``parse_failure_rate`` (x100)."""
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "random": self.random,
            "majority": self.majority,
            "parse_failures": self.parse_failures,
            "parse_failure_rate": 100.0 * self.parse_failures / self.n if self.n else 0.0,
        }


@dataclass(frozen=True, kw_only=True)
class QABenchReport:
    """QA scores of one answerer on one item set."""

    source: str  # the data file or synthetic directory
    answerer: str  # checkpoint dir or encoder name
    mode: str  # one of QA_MODES
    overall: QAScore
    per_type: dict[str, QAScore]
    failures: tuple[dict[str, Any], ...] = ()  # {"question_id", "text"} of each parse failure
    classify: Any = None  # the zero-shot classification report, when run alongside
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """``{"source", "answerer", "mode", "overall", "per_type", "failures", "classify"?}``."""
        out: dict[str, Any] = {
            "source": self.source,
            "answerer": self.answerer,
            "mode": self.mode,
            "overall": self.overall.to_json(),
            "per_type": {k: v.to_json() for k, v in self.per_type.items()},
            "failures": list(self.failures),
            **self.extra,
        }
        if self.classify is not None:
            out["classify"] = self.classify.to_json()
        return out


def resolve_videos(items: Sequence[QAItem], base: str | Path) -> dict[str, str]:
    """Video path of each item: as given when absolute, else under ``base`` (a bare id gets a suffix).

    Raises:
        ChronolensError: a video that is not there (naming the question).
    """
    root = Path(base)
    out: dict[str, str] = {}
    for item in items:
        path = Path(item.video).expanduser()
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            found = sorted(path.parent.glob(f"{path.name}.*")) if path.parent.is_dir() else []
            if not found:
                raise ChronolensError(f"question {item.question_id!r}: no video file at {path}")
            path = found[0]
        out[item.question_id] = str(path.resolve())
    return out


def majority_predictions(items: Sequence[QAItem]) -> dict[str, tuple[int | None, str]]:
    """Per item, the majority baseline's answer: its type's most frequent right answer among the
    *other* items (leave-one-out); ties go to the first candidate."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        counts[item.type][item.answers[0]] += 1
    out: dict[str, tuple[int | None, str]] = {}
    for item in items:
        c = counts[item.type].copy()
        c[item.answers[0]] -= 1  # leave the item itself out: its own answer is no prior
        if item.multiple_choice:
            best = max(range(len(item.candidates)), key=lambda i: (c[item.candidates[i]], -i))
            out[item.question_id] = (best, item.candidates[best])
        else:
            top = [(text, n) for text, n in c.most_common(1) if n > 0]
            out[item.question_id] = (None, top[0][0] if top else "")
    return out


def _correct(items: Sequence[QAItem], predicted: dict[str, tuple[int | None, str]]) -> dict[str, bool]:
    """Whether each item was answered right (open-ended: VQA-normalised exact match)."""
    out: dict[str, bool] = {}
    for item in items:
        choice, text = predicted[item.question_id]
        if item.multiple_choice:
            out[item.question_id] = choice is not None and choice == item.answer
        else:
            score = evaluate_qa({0: text}, {0: list(item.answers)})["exact_match"]
            out[item.question_id] = score == 100.0
    return out


def _group(
    items: Sequence[QAItem], right: dict[str, bool], base: dict[str, bool], failed: set[str]
) -> QAScore:
    n = len(items)
    mc = [i for i in items if i.multiple_choice]
    random = 100.0 * sum(1 / len(i.candidates) for i in mc) / len(mc) if mc and len(mc) == n else None
    return QAScore(
        n=n,
        accuracy=100.0 * sum(right[i.question_id] for i in items) / n,
        random=random,
        majority=100.0 * sum(base[i.question_id] for i in items) / n,
        parse_failures=sum(i.question_id in failed for i in items),
    )


def run_qa_bench(
    items: Sequence[QAItem],
    answer: Answerer,
    videos: dict[str, str],
    *,
    source: str,
    answerer: str,
    mode: str,
    progress: bool = False,
) -> QABenchReport:
    """Answer every item and score it.

    Args:
        items: the questions.
        answer: ``(item, video path) -> (choice index or None, text)``; for open-ended items the
            text is the answer and the index is ignored. A multiple-choice answer with index
            None, or an empty open-ended answer, is a parse failure.
        videos: question id -> video path (:func:`resolve_videos`).
        source: where the items came from (for the report).
        answerer: checkpoint or encoder name (for the report).
        mode: one of :data:`QA_MODES` (for the report).
        progress: a bar over the items (terminal only).
    """
    if not items:
        raise ChronolensError("no QA items to evaluate")
    predicted: dict[str, tuple[int | None, str]] = {}
    failures: list[dict[str, Any]] = []
    for item in progress_bar(list(items), desc="qa", unit="question", enabled=progress):
        choice, text = answer(item, videos[item.question_id])
        predicted[item.question_id] = (choice, text)
        if (item.multiple_choice and choice is None) or (not item.multiple_choice and not text.strip()):
            failures.append({"question_id": item.question_id, "text": text})
    failed = {f["question_id"] for f in failures}
    right = _correct(items, predicted)
    base = _correct(items, majority_predictions(items))
    types = sorted({i.type for i in items})
    per_type = {t: _group([i for i in items if i.type == t], right, base, failed) for t in types}
    if failures:
        logger.info("%d of %d answers name no single candidate (or are empty)", len(failures), len(items))
    return QABenchReport(
        source=source,
        answerer=answerer,
        mode=mode,
        overall=_group(items, right, base, failed),
        per_type=per_type,
        failures=tuple(failures),
    )


def format_qa_report(report: QABenchReport) -> str:
    """A table: type, n, accuracy, random, majority, parse failures."""
    lines = [
        f"video QA  source: {report.source}  answerer: {report.answerer}  mode: {report.mode}",
        f"{'type':<12}{'n':>6}{'acc':>8}{'random':>8}{'major':>8}{'unparsed':>10}",
    ]
    rows = [*report.per_type.items(), ("all", report.overall)]
    for name, s in rows:
        rnd = f"{s.random:>8.1f}" if s.random is not None else f"{'-':>8}"
        rate = 100.0 * s.parse_failures / s.n if s.n else 0.0
        lines.append(f"{name:<12}{s.n:>6}{s.accuracy:>8.1f}{rnd}{s.majority:>8.1f}{rate:>9.1f}%")
    return "\n".join(lines)


def timechat_answerer(session: Any, mode: str, *, max_new_tokens: int | None = None) -> Answerer:
    """Answers from a TimeChat session (``tasks.answer.TimeChatSession``).

    Open-ended items are asked in free text (``session.ask``); multiple-choice items are
    chosen with ``mode`` (``likelihood`` or ``generate``; see :func:`as_open_ended` for ``open``).
    """
    if mode not in ("likelihood", "generate", "open"):
        raise ChronolensError(f"a TimeChat answerer takes likelihood, generate or open, not {mode!r}")

    def answer(item: QAItem, video: str) -> tuple[int | None, str]:
        if not item.multiple_choice:
            return None, session.ask(video, item.question, max_new_tokens=max_new_tokens)
        method = "likelihood" if mode == "open" else mode
        chosen = session.choose(
            video, item.question, item.candidates, method=method, max_new_tokens=max_new_tokens
        )
        return chosen.choice, chosen.text or (chosen.answer or "")

    return answer


def as_open_ended(items: Sequence[QAItem]) -> list[QAItem]:
    """The same questions without candidates: the right candidate's text is the reference answer."""
    return [dataclasses.replace(item, candidates=(), answer=None) for item in items]


def encoder_answerer(embeddings: dict[str, Any]) -> Answerer:
    """CLIP-style multiple choice from frame embeddings (video path -> ``VideoEmbeddings``).

    Raises (when called):
        ChronolensError: an open-ended item (an encoder cannot write an answer).
    """
    from chronolens.tasks.answer.choices import encoder_choice

    def answer(item: QAItem, video: str) -> tuple[int | None, str]:
        if not item.multiple_choice:
            raise ChronolensError(
                f"question {item.question_id!r} is open-ended: an encoder cannot answer it; give --checkpoint"
            )
        chosen = encoder_choice(embeddings[video], item.question, item.candidates)
        return chosen.choice, chosen.answer or ""

    return answer
