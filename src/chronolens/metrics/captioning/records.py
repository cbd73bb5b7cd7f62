"""Caption files for ``chronolens eval captioning``: reference and hypothesis captions by id.

Ground truth, one of:

- ``{"<id>": ["reference", ...], ...}``;
- COCO caption annotations, the file pycocotools' ``COCO`` loads for pycocoevalcap's
  ``COCOEvalCap``: ``{"annotations": [{"image_id": 1, "id": 17, "caption": "..."}, ...],
  "images": [...], ...}``, or the bare list of annotations. ``COCO.createIndex`` groups the
  annotations by ``image_id`` (``imgToAnns``) and ``COCOEvalCap`` scores each group, so the
  captions of one id are its references here too, in file order. Video sets that key their
  sentences by ``video_id`` (MSR-VTT) or by ``id`` alone are read by that key: the first of
  ``image_id``, ``video_id``, ``id`` present in the first record is the file's id key (``id`` is
  COCO's per-caption annotation id, so it is the key only where the other two are absent).

Predictions, one of:

- ``{"<id>": ["hypothesis"]}`` or ``{"<id>": "hypothesis"}``;
- COCO results ``[{"image_id": 1, "caption": "..."}, ...]`` (what ``COCO.loadRes`` reads; one
  caption per id, as pycocoevalcap's scorers assert), with the same choice of id key.

Ids are compared as strings (``1`` and ``"1"`` are the same id). Every problem is one
:class:`~chronolens.errors.FormatError` naming the file, the record and what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chronolens.errors import FormatError
from chronolens.metrics.io import require, require_str

__all__ = ["ID_KEYS", "read_predictions", "read_references"]

# Keys naming a caption's image / video, in order of preference (see the module docstring).
ID_KEYS = ("image_id", "video_id", "id")
_ID_KEYS_SAID = "'image_id' (or 'video_id', or 'id')"


def _record_id(value: Any, *, file: str, where: str, key: str) -> str:
    """An id as the string it is compared by; numbers and strings only (not bools or containers)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        shown = repr(value) if value is None or isinstance(value, (bool, float)) else type(value).__name__
        raise FormatError(f"{file}: record {where}: {key} must be a number or a string, got {shown}")
    return str(value)


def _id_key(record: Any, *, file: str, where: str) -> str:
    """The id key of a caption list, from its first record."""
    if not isinstance(record, Mapping):
        raise FormatError(f"{file}: record {where}: expected a JSON object, got {type(record).__name__}")
    for key in ID_KEYS:
        if key in record:
            return key
    raise FormatError(f"{file}: record {where}: missing key {_ID_KEYS_SAID}")


def _caption_records(records: list[Any], *, file: str, label: str) -> list[tuple[str, str, str]]:
    """``(id, caption, where)`` of each record of a COCO-style caption list.

    Args:
        records: the decoded list (not empty).
        file: file name for messages.
        label: ``"annotations"`` for ``{"annotations": [...]}`` (records ``annotations[I]``), or
            ``""`` for a bare list (records ``I``).
    """
    places = [f"{label}[{i}]" if label else str(i) for i in range(len(records))]
    key = _id_key(records[0], file=file, where=places[0])
    out: list[tuple[str, str, str]] = []
    for record, where in zip(records, places, strict=True):
        if not isinstance(record, Mapping):
            raise FormatError(f"{file}: record {where}: expected a JSON object, got {type(record).__name__}")
        if key not in record:
            raise FormatError(f"{file}: record {where}: missing key '{key}' (the id key of {places[0]})")
        ident = _record_id(record[key], file=file, where=where, key=key)
        caption = require_str(require(record, "caption", file=file, where=where), file=file, where=where,
                              what="caption")  # fmt: skip
        out.append((ident, caption, where))
    return out


def _is_coco_annotations(data: Mapping[str, Any]) -> bool:
    """Whether an object is a COCO annotation file rather than ``{id: [references]}``.

    An ``{id: [references]}`` file may use ``"annotations"`` as an id; its value is then a list
    of caption strings, which no COCO file has.
    """
    if "annotations" not in data:
        return False
    value = data["annotations"]
    return not (isinstance(value, list) and value and all(isinstance(c, str) for c in value))


def read_references(data: Any, file: str) -> dict[str, list[str]]:
    """Reference captions by id from a decoded ground-truth file (formats in the module docstring).

    Args:
        data: the decoded JSON.
        file: file name for messages.

    Returns:
        id -> its reference captions (at least one each), ids in order of first appearance.

    Raises:
        FormatError: a malformed file or record, or no captions at all.
    """
    if isinstance(data, Mapping) and _is_coco_annotations(data):
        annotations = data["annotations"]
        if not isinstance(annotations, list):
            raise FormatError(
                f"{file}: 'annotations' must be a list of objects, got {type(annotations).__name__}"
            )
        if not annotations:
            raise FormatError(f"{file}: 'annotations' is empty: no reference captions")
        return _group(_caption_records(annotations, file=file, label="annotations"))
    if isinstance(data, list):
        if not data:
            raise FormatError(f"{file}: empty list: no reference captions")
        return _group(_caption_records(data, file=file, label=""))
    if not isinstance(data, Mapping):
        raise FormatError(
            f"{file}: expected {{id: [reference captions]}} or COCO annotations "
            f'{{"annotations": [{{"image_id", "caption"}}]}}, got {type(data).__name__}'
        )
    out: dict[str, list[str]] = {}
    for key, value in data.items():
        if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
            raise FormatError(f"{file}: record {key!r}: expected a non-empty list of caption strings")
        out[str(key)] = value
    if not out:
        raise FormatError(f"{file}: empty object: no reference captions")
    return out


def _group(records: list[tuple[str, str, str]]) -> dict[str, list[str]]:
    """Captions grouped by id, as ``COCO.createIndex``'s ``imgToAnns``."""
    out: dict[str, list[str]] = {}
    for ident, caption, _ in records:
        out.setdefault(ident, []).append(caption)
    return out


def read_predictions(data: Any, file: str) -> dict[str, list[str]]:
    """One hypothesis per id from a decoded predictions file (formats in the module docstring).

    Args:
        data: the decoded JSON.
        file: file name for messages.

    Returns:
        id -> ``[hypothesis]``, in file order.

    Raises:
        FormatError: a malformed file or record, or an id predicted twice.
    """
    if isinstance(data, Mapping):
        out: dict[str, list[str]] = {}
        for key, value in data.items():
            captions = [value] if isinstance(value, str) else value
            if not isinstance(captions, list) or len(captions) != 1 or not isinstance(captions[0], str):
                raise FormatError(f"{file}: record {key!r}: expected a list with exactly one caption string")
            out[str(key)] = captions
        return out
    if isinstance(data, list):
        out = {}
        if not data:
            return out  # no predictions: the id check against the ground truth says what is missing
        key_name = _id_key(data[0], file=file, where="0")
        for ident, caption, where in _caption_records(data, file=file, label=""):
            if ident in out:
                raise FormatError(
                    f"{file}: record {where}: duplicate {key_name} {ident} "
                    "(pycocoevalcap scores one caption per id)"
                )
            out[ident] = [caption]
        return out
    raise FormatError(
        f'{file}: expected {{id: [caption]}} or COCO results [{{"image_id", "caption"}}], '
        f"got {type(data).__name__}"
    )
