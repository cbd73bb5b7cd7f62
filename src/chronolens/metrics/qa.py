"""Video question answering: exact match and VQA-style accuracy with the VQA answer normalisation.

Normalisation follows the official VQA evaluation (``vqaEval.py``): newlines and tabs become
spaces; punctuation ``; / [ ] " { } ( ) = + \\ _ - > < @ ` , ? !`` is deleted when it touches a
space (or the text has a digit-comma-digit), else replaced by a space; a period not followed by a
digit is dropped; lower-case; number words ``none``/``zero``..``ten`` become digits; articles
``a an the`` are dropped; apostrophe-less contractions (``dont``) get their apostrophe back.
As in the official script, the full normalisation is applied only when the human answers of a
question disagree; otherwise answers are compared after whitespace cleanup only.

Metrics (x100):

- ``exact_match``: the normalised prediction equals the (normalised) reference answer; with
  several human answers, equals any of them;
- ``vqa_accuracy`` (only when some question has several answers): ``min(#humans that gave the
  predicted answer / 3, 1)`` averaged over questions (a single-answer question scores its exact
  match);
- ``vqa_accuracy_official``: the official VQA figure, the same quantity averaged over the 10
  leave-one-annotator-out subsets (``mean_j min(#matches among the others / 3, 1)``).

File formats for :func:`evaluate_files` (JSON array or JSON lines):

- predictions: ``[{"question_id": ..., "answer": "..."}]``;
- ground truth: ``[{"question_id": ..., "answer": "..."}]`` (one reference answer) or
  ``[{"question_id": ..., "answers": ["...", ...]}]`` (human answers; VQA items like
  ``{"answer": "..."}`` are accepted inside the list).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chronolens.errors import FormatError
from chronolens.metrics.io import load_json_or_jsonl, require

__all__ = ["evaluate_files", "evaluate_qa", "normalize_answer", "vqa_accuracy", "vqa_accuracy_official"]

# Humans that must agree for full credit in VQA accuracy.
VQA_HUMANS_FOR_FULL_CREDIT = 3

_PUNCTUATION = (
    ";",
    "/",
    "[",
    "]",
    '"',
    "{",
    "}",
    "(",
    ")",
    "=",
    "+",
    "\\",
    "_",
    "-",
    ">",
    "<",
    "@",
    "`",
    ",",
    "?",
    "!",
)
_COMMA_BETWEEN_DIGITS = re.compile(r"(\d)(,)(\d)")
# The official pattern is "(?!<=\d)(\.)(?!\d)": its first group is a (malformed) lookahead, so in
# effect it drops every period that is not followed by a digit.
_PERIOD = re.compile(r"(?!<=\d)(\.)(?!\d)")
_NUMBER_WORDS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip
_ARTICLES = frozenset({"a", "an", "the"})
_CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
    "couldn'tve": "couldn't've", "couldnt've": "couldn't've", "didnt": "didn't", "doesnt": "doesn't",
    "dont": "don't", "hadnt": "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't",
    "havent": "haven't", "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's",
    "howd": "how'd", "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
    "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've", "itll": "it'll",
    "let's": "let's", "maam": "ma'am", "mightnt": "mightn't", "mightnt've": "mightn't've",
    "mightn'tve": "mightn't've", "mightve": "might've", "mustnt": "mustn't", "mustve": "must've",
    "neednt": "needn't", "notve": "not've", "oclock": "o'clock", "oughtnt": "oughtn't",
    "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at", "shant": "shan't",
    "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's", "shouldve": "should've",
    "shouldnt": "shouldn't", "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've",
    "somebody'd": "somebodyd", "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
    "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's", "thered": "there'd",
    "thered've": "there'd've", "there'dve": "there'd've", "therere": "there're", "theres": "there's",
    "theyd": "they'd", "theyd've": "they'd've", "they'dve": "they'd've", "theyll": "they'll",
    "theyre": "they're", "theyve": "they've", "twas": "'twas", "wasnt": "wasn't", "wed've": "we'd've",
    "we'dve": "we'd've", "weve": "we've", "werent": "weren't", "whatll": "what'll", "whatre": "what're",
    "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd", "wheres": "where's",
    "whereve": "where've", "whod": "who'd", "whod've": "who'd've", "who'dve": "who'd've", "wholl": "who'll",
    "whos": "who's", "whove": "who've", "whyll": "why'll", "whyre": "why're", "whys": "why's",
    "wont": "won't",
    "wouldve": "would've", "wouldnt": "wouldn't", "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've",
    "yall": "y'all", "yall'll": "y'all'll", "y'allll": "y'all'll", "yall'd've": "y'all'd've",
    "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've", "youd": "you'd", "youd've": "you'd've",
    "you'dve": "you'd've", "youll": "you'll", "youre": "you're", "youve": "you've",
}  # fmt: skip


def _clean_whitespace(text: str) -> str:
    return text.replace("\n", " ").replace("\t", " ").strip()


def _strip_punctuation(text: str) -> str:
    out = text
    has_digit_comma = _COMMA_BETWEEN_DIGITS.search(text) is not None
    for mark in _PUNCTUATION:
        if f"{mark} " in text or f" {mark}" in text or has_digit_comma:
            out = out.replace(mark, "")
        else:
            out = out.replace(mark, " ")
    # The official call passes re.UNICODE as the *count* argument (32): at most 32 periods go.
    return _PERIOD.sub("", out, count=re.UNICODE)


def _digits_and_articles(text: str) -> str:
    words = [_NUMBER_WORDS.get(word, word) for word in text.lower().split()]
    words = [_CONTRACTIONS.get(word, word) for word in words if word not in _ARTICLES]
    return " ".join(words)


def normalize_answer(answer: str) -> str:
    """The VQA answer normalisation (punctuation, digits, articles, contractions).

    Args:
        answer: a free-text answer.

    Returns:
        The normalised answer, e.g. ``"The Two dogs."`` -> ``"2 dogs"``.
    """
    return _digits_and_articles(_strip_punctuation(_clean_whitespace(answer)))


def _prepare(prediction: str, answers: Sequence[str]) -> tuple[str, list[str]]:
    """Clean, and normalise only when the humans disagree (as the official script does)."""
    pred = _clean_whitespace(prediction)
    refs = [_clean_whitespace(a) for a in answers]
    if len(set(refs)) > 1:
        return normalize_answer(pred), [normalize_answer(a) for a in refs]
    return pred, refs


def vqa_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """``min(#humans that gave the prediction / 3, 1)`` after normalisation.

    Args:
        prediction: the model's answer.
        answers: the human answers (usually 10).

    Returns:
        Accuracy in [0, 1].
    """
    pred, refs = _prepare(prediction, answers)
    return min(sum(ref == pred for ref in refs) / VQA_HUMANS_FOR_FULL_CREDIT, 1.0)


def vqa_accuracy_official(prediction: str, answers: Sequence[str]) -> float:
    """The official VQA accuracy: the mean over leave-one-human-out subsets of ``min(#matches / 3, 1)``.

    Args:
        prediction: the model's answer.
        answers: the human answers (at least 2).

    Returns:
        Accuracy in [0, 1].
    """
    pred, refs = _prepare(prediction, answers)
    matches = [ref == pred for ref in refs]
    total = sum(matches)
    scores = [min((total - m) / VQA_HUMANS_FOR_FULL_CREDIT, 1.0) for m in matches]
    return sum(scores) / len(scores)


def evaluate_qa(predictions: Mapping[Any, str], references: Mapping[Any, Sequence[str]]) -> dict[str, Any]:
    """QA metrics over questions (x100).

    Args:
        predictions: question id -> predicted answer; must cover every reference question.
        references: question id -> reference answers (one for single-answer datasets, usually 10
            for VQA-style ones).

    Returns:
        ``{"exact_match", "num_questions"}`` plus ``"vqa_accuracy"`` and ``"vqa_accuracy_official"``
        when any question has more than one reference answer.
    """
    if not references:
        raise ValueError("no questions to evaluate")
    exact, vqa, official = 0.0, 0.0, 0.0
    multi = any(len(answers) > 1 for answers in references.values())
    for qid, answers in references.items():
        if not answers:
            raise ValueError(f"question {qid!r} has no reference answer")
        pred, refs = _prepare(predictions[qid], answers)
        exact += float(any(ref == pred for ref in refs))
        if multi and len(answers) > 1:
            vqa += vqa_accuracy(predictions[qid], answers)
            official += vqa_accuracy_official(predictions[qid], answers)
        elif multi:  # a single reference in a mixed file counts as exact match
            vqa += float(refs[0] == pred)
            official += float(refs[0] == pred)
    n = len(references)
    result: dict[str, Any] = {"exact_match": 100 * exact / n}
    if multi:
        result["vqa_accuracy"] = 100 * vqa / n
        result["vqa_accuracy_official"] = 100 * official / n
    result["num_questions"] = n
    return result


def _answer_text(value: Any, *, file: str, where: str, what: str) -> str:
    if isinstance(value, Mapping) and "answer" in value:  # VQA-style {"answer": ..., "answer_id": ...}
        value = value["answer"]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FormatError(f"{file}: record {where}: {what} must be a string, got {value!r}")
    return str(value)


def _question_id(record: Mapping[str, Any], *, file: str, where: str) -> Any:
    qid = require(record, "question_id", file=file, where=where)
    if isinstance(qid, (list, dict)) or qid is None:
        raise FormatError(f"{file}: record {where}: question_id must be a number or a string, got {qid!r}")
    return qid


def evaluate_files(pred_path: str | Path, gt_path: str | Path) -> dict[str, Any]:
    """Evaluate a QA prediction file against a GT file (formats in the module docstring).

    Raises:
        FormatError: malformed records, duplicate ids, or GT questions without a prediction.
    """
    pred_records, pred_where = load_json_or_jsonl(pred_path)
    gt_records, gt_where = load_json_or_jsonl(gt_path)
    pfile, gfile = str(pred_path), str(gt_path)
    predictions: dict[Any, str] = {}
    for record, where in zip(pred_records, pred_where, strict=True):
        qid = _question_id(record, file=pfile, where=where)
        if qid in predictions:
            raise FormatError(f"{pfile}: record {where}: duplicate question_id {qid!r}")
        predictions[qid] = _answer_text(
            require(record, "answer", file=pfile, where=where), file=pfile, where=where, what="answer"
        )
    references: dict[Any, list[str]] = {}
    for record, where in zip(gt_records, gt_where, strict=True):
        qid = _question_id(record, file=gfile, where=where)
        if qid in references:
            raise FormatError(f"{gfile}: record {where}: duplicate question_id {qid!r}")
        if "answers" in record:
            answers = record["answers"]
            if not isinstance(answers, list) or not answers:
                raise FormatError(f"{gfile}: record {where}: answers must be a non-empty list")
            references[qid] = [
                _answer_text(a, file=gfile, where=where, what=f"answers[{i}]") for i, a in enumerate(answers)
            ]
        else:
            answer = require(record, "answer", file=gfile, where=where)
            references[qid] = [_answer_text(answer, file=gfile, where=where, what="answer")]
        if qid not in predictions:
            raise FormatError(f"{pfile}: no prediction for question_id {qid!r} ({gfile} {where})")
    if not references:
        raise FormatError(f"{gfile}: no questions")
    extra = [q for q in predictions if q not in references]
    if extra:
        raise FormatError(f"{pfile}: question_id {extra[0]!r} is not in {gfile} ({len(extra)} such)")
    return evaluate_qa(predictions, references)
