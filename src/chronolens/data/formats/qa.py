"""Video QA json: multiple choice (MVBench / EgoSchema style) and open-ended questions.

Records read (JSON array, JSON lines, or an object mapping question ids to records)::

    {"question_id": "q1", "video": "clip.mp4", "question": "What colour ...?",
     "candidates": ["red", "blue", "green"], "answer": 0}            # chronolens / MVBench-like
    {"q_uid": "...", "question": "...", "option 0": "...", ..., "option 4": "...", "truth": 3}
                                                                     # EgoSchema (answers may come
                                                                     # from a separate {q_uid: idx} file)
    {"question_id": 7, "video": "v.mp4", "question": "...", "answer": "two dogs"}   # open-ended
    {"question_id": 7, "video": "v.mp4", "question": "...", "answers": ["2", "two", ...]}

- candidates: ``"candidates"`` or ``"options"`` (a list), or ``"option 0"``, ``"option 1"``, ...;
- the answer of a multiple-choice record: an index (``"answer"``, ``"answer_idx"``, ``"truth"``),
  or the text of one candidate (MVBench writes the text);
- the id: ``"question_id"``, ``"q_uid"`` or ``"id"`` (else the record's position);
- the video: ``"video"``, ``"video_id"``, ``"video_uid"`` (EgoSchema: the ``q_uid``).

Every malformed record raises :class:`~chronolens.errors.FormatError` naming the file and the
record. :func:`write_qa` writes the first (chronolens) layout.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chronolens.atomic import write_json_atomic
from chronolens.errors import FormatError
from chronolens.metrics.io import load_json_or_jsonl

__all__ = ["QAItem", "read_answers", "read_qa", "write_qa"]

_ID_KEYS = ("question_id", "q_uid", "id")
_VIDEO_KEYS = ("video", "video_id", "video_uid", "q_uid")
_INDEX_KEYS = ("answer", "answer_idx", "truth")


@dataclass(frozen=True, kw_only=True)
class QAItem:
    """One question about one video."""

    question_id: str
    video: str  # path or id of the video, as the file gives it
    question: str
    candidates: tuple[str, ...] = ()  # empty: an open-ended question
    answer: int | None = None  # index into candidates (multiple choice)
    answers: tuple[str, ...] = ()  # reference answer texts (open-ended; for MC the right candidate)
    type: str = ""  # question type, e.g. "color", "after_cut" (reports per type)
    extra: dict[str, Any] = field(default_factory=dict)  # other fields, kept through write_qa

    @property
    def multiple_choice(self) -> bool:
        """True when the item has candidates."""
        return bool(self.candidates)

    def to_json(self) -> dict[str, Any]:
        """The chronolens layout (read back by :func:`read_qa`)."""
        out: dict[str, Any] = {
            "question_id": self.question_id,
            "video": self.video,
            "question": self.question,
        }
        if self.candidates:
            out["candidates"] = list(self.candidates)
            out["answer"] = self.answer
        elif len(self.answers) == 1:
            out["answer"] = self.answers[0]
        else:
            out["answers"] = list(self.answers)
        if self.type:
            out["type"] = self.type
        out.update(self.extra)
        return out


def _text(value: Any, *, file: str, where: str, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FormatError(f"{file}: record {where}: {what} must be a string, got {value!r}")
    text = str(value).strip()
    if not text:
        raise FormatError(f"{file}: record {where}: {what} is empty")
    return text


def _candidates(record: Mapping[str, Any], *, file: str, where: str) -> tuple[str, ...]:
    raw: Any = None
    for key in ("candidates", "options"):
        if key in record:
            raw = record[key]
            if not isinstance(raw, list):
                raise FormatError(f"{file}: record {where}: {key} must be a list, got {type(raw).__name__}")
            break
    if raw is None:
        numbered: list[Any] = []
        while f"option {len(numbered)}" in record:
            numbered.append(record[f"option {len(numbered)}"])
        raw = numbered
    out = tuple(_text(c, file=file, where=where, what=f"candidate {i}") for i, c in enumerate(raw))
    if len(out) == 1:
        raise FormatError(f"{file}: record {where}: a multiple-choice question needs at least 2 candidates")
    if len(set(out)) != len(out):
        raise FormatError(f"{file}: record {where}: candidates repeat: {list(out)}")
    return out


def _answer_index(
    record: Mapping[str, Any], candidates: tuple[str, ...], given: int | None, *, file: str, where: str
) -> int:
    value: Any = given
    if value is None:
        for key in _INDEX_KEYS:
            if key in record:
                value = record[key]
                break
        else:
            raise FormatError(f"{file}: record {where}: no answer (answer index or text)")
    if isinstance(value, str) and value.strip() in candidates:
        return candidates.index(value.strip())
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise FormatError(
            f"{file}: record {where}: answer {value!r} is neither a candidate index nor a candidate's text"
        )
    if not 0 <= value < len(candidates):
        raise FormatError(f"{file}: record {where}: answer index {value} outside 0..{len(candidates) - 1}")
    return value


def _item(record: Any, where: str, position: int, answers: Mapping[str, int] | None, *, file: str) -> QAItem:
    if not isinstance(record, Mapping):
        raise FormatError(f"{file}: record {where}: must be an object, got {type(record).__name__}")
    qid_key = next((k for k in _ID_KEYS if k in record), None)
    qid = str(record[qid_key]) if qid_key is not None else str(position)
    video_key = next((k for k in _VIDEO_KEYS if k in record), None)
    if video_key is None:
        raise FormatError(f"{file}: record {where}: missing 'video'")
    video = _text(record[video_key], file=file, where=where, what=video_key)
    question = _text(record.get("question"), file=file, where=where, what="question")
    candidates = _candidates(record, file=file, where=where)
    known = {"question", "candidates", "options", "answer", "answers", "answer_idx", "truth", "type"}
    known |= {k for k in (qid_key, video_key) if k is not None} | {
        f"option {i}" for i in range(len(candidates))
    }
    extra = {k: v for k, v in record.items() if k not in known}
    kind = str(record.get("type", ""))
    if candidates:
        index = _answer_index(
            record, candidates, answers.get(qid) if answers else None, file=file, where=where
        )
        return QAItem(
            question_id=qid, video=video, question=question, candidates=candidates, answer=index,
            answers=(candidates[index],), type=kind, extra=extra,
        )  # fmt: skip
    if "answers" in record:
        raw = record["answers"]
        if not isinstance(raw, list) or not raw:
            raise FormatError(f"{file}: record {where}: answers must be a non-empty list")
        refs = tuple(
            _text(a["answer"] if isinstance(a, Mapping) and "answer" in a else a, file=file, where=where,
                  what=f"answers[{i}]")
            for i, a in enumerate(raw)
        )  # fmt: skip
    elif "answer" in record:
        refs = (_text(record["answer"], file=file, where=where, what="answer"),)
    else:
        raise FormatError(f"{file}: record {where}: no candidates and no answer")
    return QAItem(question_id=qid, video=video, question=question, answers=refs, type=kind, extra=extra)


def read_answers(path: str | os.PathLike[str]) -> dict[str, int]:
    """An EgoSchema-style answers file: ``{question_id: answer index}``.

    Raises:
        FormatError: not a JSON object of integer indices.
    """
    file = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{file}: not a readable JSON answers file: {exc}") from exc
    if not isinstance(data, dict):
        raise FormatError(f"{file}: an answers file must be a JSON object {{question_id: index}}")
    out: dict[str, int] = {}
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise FormatError(f"{file}: key {key!r}: answer must be an integer index, got {value!r}")
        out[str(key)] = value
    return out


def read_qa(path: str | os.PathLike[str], *, answers: str | os.PathLike[str] | None = None) -> list[QAItem]:
    """Read a QA file (layouts in the module docstring).

    Args:
        path: a JSON array, JSON lines, or an object ``{question_id: record}``.
        answers: optional EgoSchema-style ``{question_id: index}`` file for records without answers.

    Raises:
        FormatError: the file is unreadable, empty, holds a malformed record or a repeated id.
    """
    file = str(path)
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"{file}: cannot read: {exc}") from exc
    except json.JSONDecodeError:
        raw = None  # maybe JSON lines
    if isinstance(raw, dict) and "question" not in raw:  # {question_id: record}
        records: list[Any] = []
        wheres: list[str] = []
        for key, value in raw.items():
            records.append({"question_id": key, **value} if isinstance(value, Mapping) else value)
            wheres.append(f"key {key!r}")
    else:
        records, wheres = load_json_or_jsonl(Path(path))
    given = read_answers(answers) if answers is not None else None
    items: list[QAItem] = []
    seen: set[str] = set()
    for i, (record, where) in enumerate(zip(records, wheres, strict=True)):
        item = _item(record, where, i, given, file=file)
        if item.question_id in seen:
            raise FormatError(f"{file}: record {where}: duplicate question_id {item.question_id!r}")
        seen.add(item.question_id)
        items.append(item)
    if not items:
        raise FormatError(f"{file}: no questions")
    return items


def write_qa(path: str | os.PathLike[str], items: Sequence[QAItem]) -> Path:
    """Write items in the chronolens layout (a JSON array, atomically)."""
    return write_json_atomic(path, [item.to_json() for item in items], indent=1)
