"""Reading prediction and annotation files for the metrics, with errors that say where.

Every loader raises :class:`~chronolens.errors.FormatError` with one line naming the file, the
record (``line N`` for jsonl, ``key K`` / ``index I`` for json) and the problem, so a user can go
straight to the offending record. All metric modules read their inputs through these helpers.

Spans are checked by one function, :func:`require_span`: every bound finite and a number (not a
bool), ``start <= end``, ``start >= -SPAN_TOLERANCE`` and, where the format gives the video's
duration, ``end <= duration + SPAN_TOLERANCE``. What the reference scripts accept although it
cannot be right (reversed, negative or out-of-video spans, duplicate ground-truth records, a
missing duration they never read) is refused unless :class:`InputChecks` is lenient, in which
case it is counted by kind and let through exactly as the reference scores it. Non-finite values
and booleans are refused in every mode: no published number depends on them.

Input sizes are bounded: a file over :data:`MAX_FILE_BYTES` is refused before it is read, and
caption corpora over :data:`MAX_CORPUS_WORDS` words before any scorer starts
(:func:`check_corpus_words`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chronolens.errors import FormatError

__all__ = [
    "MAX_CORPUS_WORDS",
    "MAX_DURATION",
    "MAX_FILE_BYTES",
    "SPAN_TOLERANCE",
    "InputChecks",
    "check_corpus_words",
    "check_span",
    "load_json",
    "load_json_or_jsonl",
    "load_jsonl",
    "require",
    "require_duration",
    "require_list",
    "require_number",
    "require_span",
    "require_str",
]

# Seconds a ground-truth span may start before 0 or end after the annotated duration: one 2 s
# clip of slack for durations rounded down and annotations snapped to the clip grid.
SPAN_TOLERANCE = 2.0
# Largest prediction / annotation file read (bytes): json.loads needs ~10x the file in memory, so
# a bigger file is almost certainly the wrong one; split it, or pass a larger limit.
MAX_FILE_BYTES = 1 << 30
# Words (whitespace tokens, references and hypotheses together) a caption corpus may hold before
# scoring: ~4x the largest public video caption test set (MSR-VTT test: ~0.55M words); METEOR on
# 25M words ran past 5 minutes with a 1.5 GB JVM. `chronolens eval --max-words` raises it.
MAX_CORPUS_WORDS = 2_000_000
# Longest video duration an annotation may give (seconds, one week): beyond it a duration is a
# typo or garbage, and per-clip arrays sized from it would exhaust memory.
MAX_DURATION = 7 * 24 * 3600.0
# Hint appended to refusals that --lenient would let through.
_LENIENT_HINT = "pass --lenient to score it as the reference script does"


@dataclass(kw_only=True)
class InputChecks:
    """How strictly inputs are read, and what was let through or left out (filled while reading).

    One instance goes to an ``evaluate_files`` call; the CLI prints what it collected.
    """

    lenient: bool = False  # count (not refuse) what the reference accepts: reversed spans, ...
    subset: bool = False  # score only the ids present in both files (TimeChat's --sample)
    max_words: int = MAX_CORPUS_WORDS  # caption corpus bound, words
    let_through: dict[str, int] = field(default_factory=dict)  # kind -> count (lenient only)
    left_out: dict[str, int] = field(default_factory=dict)  # {"gt_without_prediction": N, ...}
    hint: str = _LENIENT_HINT  # appended to refusals ("" where no --lenient exists)

    def refuse(self, kind: str, message: str) -> None:
        """Raise ``FormatError(message)``, or count ``kind`` when lenient.

        Args:
            kind: short name of the problem (``"reversed_span"``), the key in ``let_through``.
            message: the one-line error (file, record, problem); a hint to --lenient is added.

        Raises:
            FormatError: unless lenient.
        """
        if not self.lenient:
            raise FormatError(f"{message} ({self.hint})" if self.hint else message)
        self.let_through[kind] = self.let_through.get(kind, 0) + 1

    def record_subset(self, gt_without_prediction: int, prediction_without_gt: int) -> None:
        """Note how many ids ``subset`` left out on each side."""
        self.left_out = {
            "gt_without_prediction": gt_without_prediction,
            "prediction_without_gt": prediction_without_gt,
        }


def _read_text(path: str | Path) -> str:
    try:
        size = Path(path).stat().st_size
        if size > MAX_FILE_BYTES:
            raise FormatError(
                f"{path}: {size / 2**20:.0f} MiB is over the {MAX_FILE_BYTES / 2**20:.0f} MiB bound on "
                "annotation and prediction files (chronolens.metrics.io.MAX_FILE_BYTES)"
            )
        if not Path(path).is_file():
            raise FormatError(f"{path}: not a regular file")
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FormatError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise FormatError(f"{path}: is a directory, expected a file") from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror})") from None


def _decode(text: str, path: str | Path, where: str) -> Any:
    """``json.loads`` with every failure as a FormatError (``where``: ``""`` or ``"line N: "``)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        place = where or f"line {exc.lineno} column {exc.colno}: "
        raise FormatError(f"{path}: {place}invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise FormatError(f"{path}: {where}JSON nested too deeply to read") from None
    except ValueError as exc:  # e.g. an integer over Python's digit limit
        raise FormatError(f"{path}: {where}invalid JSON ({exc})") from None


def load_json(path: str | Path) -> Any:
    """Parse one JSON document.

    Args:
        path: the file to read (UTF-8).

    Returns:
        The decoded JSON value.

    Raises:
        FormatError: the file is missing, unreadable or not valid JSON (message names line and column).
    """
    return _decode(_read_text(path), path, "")


def load_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Parse a JSON-lines file whose every non-blank line is a JSON object.

    Args:
        path: the file to read (UTF-8).

    Returns:
        One dict per non-blank line, in file order.

    Raises:
        FormatError: a line is not valid JSON or not an object (message names the 1-based line).
    """
    records: list[dict[str, Any]] = []
    for lineno, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        record = _decode(line, path, f"line {lineno}: ")
        if not isinstance(record, dict):
            raise FormatError(f"{path}: line {lineno}: expected a JSON object, got {type(record).__name__}")
        records.append(record)
    return records


def load_json_or_jsonl(path: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Read a list of records from a JSON array or a JSON-lines file.

    A ``.jsonl`` suffix, or a file that is not one JSON document, is read as JSON lines.

    Args:
        path: the file to read.

    Returns:
        ``(records, where)``: the records and, for each, the label used in error messages
        (``"line N"`` or ``"index I"``).

    Raises:
        FormatError: not a JSON array of objects nor JSON lines of objects.
    """
    if str(path).endswith(".jsonl"):
        records = load_jsonl(path)
        return records, _line_labels(path, len(records))
    text = _read_text(path)
    try:
        data = _decode(text, path, "")
    except FormatError:
        records = load_jsonl(path)  # several documents: JSON lines without the suffix
        return records, _line_labels(path, len(records))
    if isinstance(data, dict):
        records = [data]  # a one-line jsonl file parses as a single document
        return records, _line_labels(path, 1)
    if not isinstance(data, list):
        raise FormatError(f"{path}: expected a JSON array of objects, got {type(data).__name__}")
    for index, record in enumerate(data):
        if not isinstance(record, dict):
            raise FormatError(f"{path}: index {index}: expected a JSON object, got {type(record).__name__}")
    return data, [f"index {i}" for i in range(len(data))]


def _line_labels(path: str | Path, count: int) -> list[str]:
    """Line labels for records of a jsonl file, skipping blank lines as ``load_jsonl`` does."""
    labels = [
        f"line {lineno}" for lineno, line in enumerate(_read_text(path).splitlines(), start=1) if line.strip()
    ]
    return labels[:count]


def require(record: Mapping[str, Any], key: str, *, file: str, where: str) -> Any:
    """Return ``record[key]`` or raise a FormatError naming the file and the record.

    Args:
        record: the decoded record.
        key: the key that must be present.
        file: file name for the message.
        where: record label for the message, e.g. ``"line 3"`` or ``"qid 7803"``.

    Raises:
        FormatError: ``"<file>: record <where>: missing key '<key>'"``.
    """
    if not isinstance(record, Mapping):
        raise FormatError(f"{file}: record {where}: expected a JSON object, got {type(record).__name__}")
    if key not in record:
        raise FormatError(f"{file}: record {where}: missing key '{key}'")
    return record[key]


def require_number(value: Any, *, file: str, where: str, what: str, finite: bool = True) -> float:
    """Check that ``value`` is a real number (not a bool or a string) and return it as float.

    Args:
        value: the decoded value.
        file: file name for the message.
        where: record label for the message.
        what: what the value is, e.g. ``"pred_relevant_windows[2][0]"``.
        finite: also reject NaN and infinities.

    Raises:
        FormatError: the value is not a (finite) number.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FormatError(f"{file}: record {where}: {what} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the float range
        raise FormatError(
            f"{file}: record {where}: {what} must be finite, got an integer of {len(str(value))} digits"
        ) from None
    if finite and not math.isfinite(number):
        raise FormatError(f"{file}: record {where}: {what} must be finite, got {value!r}")
    return number


def require_list(value: Any, *, file: str, where: str, what: str) -> list[Any]:
    """Check that ``value`` is a JSON array and return it.

    Raises:
        FormatError: the value is not a list.
    """
    if not isinstance(value, list):
        raise FormatError(f"{file}: record {where}: {what} must be a list, got {type(value).__name__}")
    return value


def require_str(value: Any, *, file: str, where: str, what: str) -> str:
    """Check that ``value`` is a string and return it.

    Raises:
        FormatError: the value is not a string.
    """
    if not isinstance(value, str):
        raise FormatError(f"{file}: record {where}: {what} must be a string, got {type(value).__name__}")
    return value


def require_span(
    value: Any,
    *,
    file: str,
    where: str,
    what: str,
    duration: float | None = None,
    checks: InputChecks | None = None,
) -> tuple[float, float]:
    """Check a ``[start, end]`` pair of seconds and return it as floats, as written.

    Refused always: not a list of (at least) two numbers, a bool, NaN or an infinity. Refused
    unless ``checks.lenient`` (then counted and returned unchanged, as the reference scores it):
    ``end < start`` (``reversed_span``), ``start < -SPAN_TOLERANCE`` (``negative_span``) and,
    with a duration, ``end > duration + SPAN_TOLERANCE`` (``span_past_duration``).

    Args:
        value: the decoded value; extra elements (a score) are ignored.
        file: file name for the message.
        where: record label for the message.
        what: which value it is, e.g. ``"relevant_windows[0]"``.
        duration: the video's duration in seconds where the format gives it.
        checks: strictness and the counters; None is strict.

    Returns:
        ``(start, end)``.

    Raises:
        FormatError: naming the file, the record, the value and the problem.
    """
    pair = require_list(value, file=file, where=where, what=what)
    if len(pair) < 2:
        raise FormatError(f"{file}: record {where}: {what} must be [start, end], got {pair!r}")
    start = require_number(pair[0], file=file, where=where, what=f"{what}[0]")
    end = require_number(pair[1], file=file, where=where, what=f"{what}[1]")
    check_span(start, end, file=file, where=where, what=what, duration=duration, checks=checks)
    return start, end


def check_span(
    start: float,
    end: float,
    *,
    file: str,
    where: str,
    what: str,
    duration: float | None = None,
    checks: InputChecks | None = None,
) -> None:
    """The order and range checks of :func:`require_span` on two finite numbers (strict if no ``checks``)."""
    checks = checks if checks is not None else InputChecks(hint="")
    label = f"{file}: record {where}: {what} = [{start:g}, {end:g}]"
    if end < start:
        checks.refuse("reversed_span", f"{label} ends before it starts")
    if min(start, end) < -SPAN_TOLERANCE:
        checks.refuse("negative_span", f"{label} is before the start of the video")
    if duration is not None and max(start, end) > duration + SPAN_TOLERANCE:
        checks.refuse("span_past_duration", f"{label} ends after the video's duration {duration:g} s")


def require_duration(
    record: Mapping[str, Any], *, file: str, where: str, checks: InputChecks | None = None
) -> float | None:
    """The record's ``duration`` (finite, >= 0); a missing one is refused unless lenient (then None).

    Raises:
        FormatError: ``duration`` is missing (strict), not a number, not finite or negative.
    """
    if not isinstance(record, Mapping):
        raise FormatError(f"{file}: record {where}: expected a JSON object, got {type(record).__name__}")
    if record.get("duration") is None:
        (checks or InputChecks()).refuse(
            "missing_duration", f"{file}: record {where}: missing key 'duration'"
        )
        return None
    duration = require_number(record["duration"], file=file, where=where, what="duration")
    if not 0 <= duration <= MAX_DURATION:
        raise FormatError(
            f"{file}: record {where}: duration must be between 0 and {MAX_DURATION:g} s, got {duration:g}"
        )
    return duration


def check_corpus_words(texts: Iterable[str], *, file: str, limit: int = MAX_CORPUS_WORDS) -> int:
    """Count whitespace words and refuse a corpus over ``limit`` before any scorer starts.

    Args:
        texts: every caption of the corpus (references and hypotheses).
        file: what to name in the message (the two files).
        limit: the bound (``chronolens eval --max-words``).

    Returns:
        The number of words.

    Raises:
        FormatError: more than ``limit`` words.
    """
    words = 0
    for text in texts:
        words += len(text.split())
        if words > limit:
            raise FormatError(
                f"{file}: captions hold more than {limit:,} words (the bound on a caption corpus); "
                "score a smaller set, or raise the bound with --max-words"
            )
    return words
