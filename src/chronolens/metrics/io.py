"""Reading prediction and annotation files for the metrics, with errors that say where.

Every loader raises :class:`~chronolens.errors.FormatError` with one line naming the file, the
record (``line N`` for jsonl, ``key K`` / ``index I`` for json) and the problem, so a user can go
straight to the offending record. All metric modules read their inputs through these helpers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chronolens.errors import FormatError

__all__ = [
    "load_json",
    "load_json_or_jsonl",
    "load_jsonl",
    "require",
    "require_list",
    "require_number",
    "require_str",
]


def _read_text(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FormatError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise FormatError(f"{path}: is a directory, expected a file") from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror})") from None


def load_json(path: str | Path) -> Any:
    """Parse one JSON document.

    Args:
        path: the file to read (UTF-8).

    Returns:
        The decoded JSON value.

    Raises:
        FormatError: the file is missing, unreadable or not valid JSON (message names line and column).
    """
    text = _read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg})") from None


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
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FormatError(f"{path}: line {lineno}: invalid JSON ({exc.msg})") from None
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
        data = json.loads(text)
    except json.JSONDecodeError:
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
    number = float(value)
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
