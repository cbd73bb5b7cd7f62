"""Charades-STA grounding annotations: ``vid start end##sentence`` per line (the TALL txt format)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from chronolens.atomic import write_text_atomic
from chronolens.errors import FormatError
from chronolens.metrics.io import check_span

__all__ = ["CharadesRecord", "format_charades_line", "read_charades_sta", "write_charades_sta"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CharadesRecord:
    """One grounding query: a sentence and its span in a video."""

    vid: str  # video id without extension
    start: float  # seconds
    end: float  # seconds
    sentence: str


def format_charades_line(record: CharadesRecord) -> str:
    """``"AO8RW 0.0 6.9##a person is putting a book on a shelf."`` (times with one decimal)."""
    if "##" in record.sentence or "\n" in record.sentence:
        raise ValueError(f"sentence must not contain '##' or a newline: {record.sentence!r}")
    return f"{record.vid} {record.start:.1f} {record.end:.1f}##{record.sentence}"


def write_charades_sta(path: str | os.PathLike[str], records: list[CharadesRecord]) -> Path:
    """Write records one per line, atomically."""
    return write_text_atomic(path, "".join(format_charades_line(r) + "\n" for r in records))


def read_charades_sta(path: str | os.PathLike[str]) -> list[CharadesRecord]:
    """Parse a Charades-STA txt file.

    Every span must be finite, ordered and not before 0 (:func:`chronolens.metrics.io.check_span`;
    the format has no duration), and a line may not repeat an earlier one (same video, span and
    sentence: it would count one query twice).

    Raises:
        FormatError: naming the file and line of the first malformed line.
    """
    p = Path(path)
    out = []
    seen: dict[tuple[str, float, float, str], int] = {}
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"{p}: cannot read Charades-STA file: {exc}") from None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        head, sep, sentence = line.partition("##")
        parts = head.split()
        try:
            if not sep or len(parts) != 3:
                raise ValueError("expected 'vid start end##sentence'")
            start, end = float(parts[1]), float(parts[2])
            if not (math.isfinite(start) and math.isfinite(end)):
                raise ValueError(f"times must be finite, got {parts[1]} {parts[2]}")
        except ValueError as exc:
            raise FormatError(f"{p}:{lineno}: malformed Charades-STA line: {exc}") from exc
        check_span(start, end, file=str(p), where=f"line {lineno}", what="span")
        key = (parts[0], start, end, sentence)
        if key in seen:
            raise FormatError(f"{p}: record line {lineno}: duplicate of line {seen[key]}")
        seen[key] = lineno
        out.append(CharadesRecord(vid=parts[0], start=start, end=end, sentence=sentence))
    return out
