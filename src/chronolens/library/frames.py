"""The search view of a library: every searchable frame in memory-mappable fp16 shards.

The per-video ``embeddings/*.npz`` files stay the source of truth (each written atomically, then
committed in the catalog). Searching them one file at a time costs a zip parse, an array header
parse and an fp16 -> fp32 copy per candidate video; at a million frames that was half of a
query's time. So the library keeps a derived *frame table* under ``ann/``:

    ann/table.json            what the table covers (written last, atomically: its presence
                              means every file it names is complete)
    ann/shard-<id>.npy        (n, D) float16 frame embeddings of a group of videos, row-contiguous
    ann/shard-<id>.times.npy  (n,) float64 timestamps of those rows
    ann/shard-<id>.sq8.npy    (n, D) int8 copy of the rows (+ .scale.npy, one scale per row),
                              for cheap approximate scores of candidates
    ann/index-<id>.faiss      the approximate frame index over all shards' rows (large libraries)

A video's frames are one contiguous slice of one shard (``np.load(..., mmap_mode="r")``), so a
candidate is a view, not a file parse, and the operating system's page cache, not a Python
cache, keeps the hot ones in memory.

The table is brought up to date incrementally: videos whose ``(id, embeddings file)`` still match
the catalog keep their rows; new or re-indexed videos go to a new shard (and, when there is an
approximate index, are added to it without retraining); rows of removed or changed videos are
marked dead (owner ``-1``) and skipped. The whole table is rebuilt when dead rows pass
``MAX_DEAD_FRACTION`` of all rows or the rows added since the index was trained pass
``MAX_GROWTH`` times the rows it was trained on (the quantizer then no longer describes the data).
Updates hold ``ann/lock``; a reader never needs it (it reads ``table.json`` and maps the files it
names; a file collected under it by a newer table makes it re-read once).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chronolens.atomic import write_text_atomic
from chronolens.errors import LibraryError

__all__ = [
    "MAX_DEAD_FRACTION",
    "MAX_GROWTH",
    "TABLE_VERSION",
    "FrameTable",
    "TableEntry",
    "locked",
    "new_name",
    "quantize_rows",
    "row_products",
]

logger = logging.getLogger(__name__)

TABLE_VERSION = 2  # bump when the table's files change shape; an old table is rebuilt, never misread
MAX_DEAD_FRACTION = 0.25  # rebuild when this share of rows belongs to removed or re-indexed videos
MAX_GROWTH = 1.0  # rebuild (retrain the index) when rows added since training exceed this x trained rows
_TABLE = "table.json"
_LOCK = "lock"


@dataclass(frozen=True, slots=True)
class TableEntry:
    """One video's place in the table."""

    video_id: int
    embeddings: str  # the catalog's embeddings file name the rows were read from
    shard: int  # index into FrameTable.shards
    start: int  # first row inside the shard
    count: int  # number of rows


# Per shard: fp16 rows, their times, and an int8 copy (one scale per row) that scores candidates
# ~10x cheaper than numpy's fp16 -> fp32 conversion; exact scores always come from the fp16 rows.
_PARTS = {"embeddings": ".npy", "timestamps": ".times.npy", "codes": ".sq8.npy", "scales": ".scale.npy"}


def row_products(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix @ vector`` ``(k,)`` float32 for ``(k, D)`` float32 or int8 rows and a ``(D,)`` float32
    vector, without BLAS.

    A query's products are small (a few thousand rows): OpenBLAS splits its matrix-vector product
    over every core, and on busy cores the hand-off costs milliseconds (2,048 x 512 rows: 0.06 ms
    on one thread, 8-15 ms with two threads at load 3-6 on the 2-core build machine). einsum's own
    loop runs on the calling thread (0.2-0.4 ms) and reads int8 rows without a float32 copy.
    """
    return np.einsum("ij,j->i", matrix, vector, dtype=np.float32, casting="unsafe")


def quantize_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 codes ``(n, D)`` and scales ``(n,)`` with ``row ~= codes * scale / 127``."""
    values = np.asarray(rows, dtype=np.float32)
    scales = np.abs(values).max(axis=1) if values.size else np.zeros(values.shape[0], np.float32)
    safe = np.where(scales > 0, scales, 1.0).astype(np.float32)
    codes = np.rint(values / safe[:, None] * 127.0).astype(np.int8)
    return codes, scales.astype(np.float32)


class _Shard:
    """One shard's arrays, memory-mapped (or in memory for a read-only library)."""

    def __init__(
        self, name: str, embeddings: np.ndarray, timestamps: np.ndarray, codes: np.ndarray, scales: np.ndarray
    ) -> None:
        self.name = name
        self.embeddings = embeddings  # (n, D) float16
        self.timestamps = timestamps  # (n,) float64
        self.codes = codes  # (n, D) int8
        self.scales = scales  # (n,) float32: row ~= codes * scale / 127

    @classmethod
    def open(cls, root: Path, name: str, *, rows: int, dim: int) -> _Shard:
        try:
            arrays = {
                key: np.load(root / f"{name}{suffix}", mmap_mode="r", allow_pickle=False)
                for key, suffix in _PARTS.items()
            }
        except (OSError, ValueError) as exc:
            raise LibraryError(f"frame table shard {root / name} is missing or corrupt ({exc})") from exc
        shapes = {"embeddings": (rows, dim), "timestamps": (rows,), "codes": (rows, dim), "scales": (rows,)}
        for key, shape in shapes.items():
            if arrays[key].shape != shape:
                raise LibraryError(
                    f"frame table shard {root / name}: {key} has shape {arrays[key].shape}, expected {shape}"
                )
        # Plain ndarray views of the maps (the map stays open through their base): indexing a
        # np.memmap goes through its Python __getitem__, ~50 us per read on a query's hot path.
        return cls(name, **{key: np.asarray(arr) for key, arr in arrays.items()})


class FrameTable:
    """Every searchable frame of a library, grouped per video, in fp16 shards.

    Global rows number the shards' rows in shard order; ``owners[row]`` is the video id of a
    row (``-1``: dead). ``entries`` maps each live video id to its slice.
    """

    def __init__(
        self,
        shards: list[_Shard],
        entries: dict[int, TableEntry],
        *,
        dim: int,
        index_name: str | None = None,
        trained_rows: int = 0,
    ) -> None:
        self.shards = shards
        self.entries = entries
        self.dim = dim
        self.index_name = index_name  # file name of the approximate index over these rows, if any
        self.trained_rows = trained_rows  # rows the index's quantizer was trained on
        self.offsets = np.cumsum([0] + [s.embeddings.shape[0] for s in shards]).astype(np.int64)
        owners = np.full(int(self.offsets[-1]), -1, dtype=np.int64)
        for e in entries.values():
            base = int(self.offsets[e.shard]) + e.start
            owners[base : base + e.count] = e.video_id
        self.owners = owners
        self._dense: np.ndarray | None = None

    # ------------------------------------------------------------------ reading
    @property
    def n_rows(self) -> int:
        """Rows in the table, dead ones included (the approximate index has as many)."""
        return int(self.offsets[-1])

    @property
    def n_live(self) -> int:
        """Rows of live videos."""
        return sum(e.count for e in self.entries.values())

    def frames(self, video_id: int) -> tuple[np.ndarray, np.ndarray]:
        """A video's ``(embeddings (T, D) float16 view, timestamps (T,) float64 view)``."""
        e = self.entries[video_id]
        shard = self.shards[e.shard]
        return shard.embeddings[e.start : e.start + e.count], shard.timestamps[e.start : e.start + e.count]

    def span(self, video_id: int) -> tuple[int, int]:
        """A video's global rows ``[start, stop)``."""
        e = self.entries[video_id]
        start = int(self.offsets[e.shard]) + e.start
        return start, start + e.count

    def gather(self, rows: np.ndarray) -> np.ndarray:
        """Embeddings of global ``rows`` ``(k,)`` as ``(k, D)`` float32 (in the order given)."""
        rows = np.asarray(rows, dtype=np.int64)
        single = self._single_shard(rows)
        if single is not None:  # the common case: one fancy index, one conversion, no masks
            shard, local = single
            return np.asarray(shard.embeddings[local], dtype=np.float32)
        out = np.empty((rows.shape[0], self.dim), dtype=np.float32)
        shard_of = np.searchsorted(self.offsets, rows, side="right") - 1
        for s in np.unique(shard_of):
            mask = shard_of == s
            out[mask] = self.shards[int(s)].embeddings[rows[mask] - self.offsets[s]]
        return out

    def similarity(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Exact similarities ``(k,)`` float32 of global ``rows`` with ``query`` ``(D,)`` (fp16 rows).

        The same values as ``gather(rows) @ query`` up to float32 summation order; the product is
        ``row_products``' (no BLAS threads, see there).
        """
        return row_products(self.gather(rows), np.asarray(query, dtype=np.float32))

    def approx_similarity(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Approximate similarities ``(k,)`` of global ``rows`` with ``query`` from the int8 codes
        (error per row at most ``scale / 254 * ||query||_1``; a shortlist, never a final score)."""
        rows = np.asarray(rows, dtype=np.int64)
        q = np.asarray(query, dtype=np.float32)
        single = self._single_shard(rows)
        if single is not None:
            shard, local = single
            return row_products(shard.codes[local], q) * (shard.scales[local] / np.float32(127.0))
        out = np.empty(rows.shape[0], dtype=np.float32)
        shard_of = np.searchsorted(self.offsets, rows, side="right") - 1
        for s in np.unique(shard_of):
            mask = shard_of == s
            shard = self.shards[int(s)]
            local = rows[mask] - self.offsets[s]
            out[mask] = row_products(shard.codes[local], q) * (shard.scales[local] / np.float32(127.0))
        return out

    def _single_shard(self, rows: np.ndarray) -> tuple[_Shard, np.ndarray] | None:
        """``(shard, local rows)`` when every row of ``rows`` lies in one shard, else ``None``."""
        if rows.size == 0 or not self.shards:
            return None
        s = int(np.searchsorted(self.offsets, rows.min(), side="right")) - 1
        lo, hi = int(self.offsets[s]), int(self.offsets[s + 1])
        if rows.max() >= hi:
            return None
        return self.shards[s], rows - lo

    def dense(self) -> np.ndarray:
        """All rows as one ``(N, D)`` float32 array in memory (cached; for small, exact libraries)."""
        if self._dense is None:
            parts = [np.asarray(s.embeddings, dtype=np.float32) for s in self.shards]
            self._dense = np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)
        return self._dense

    def matches(self, current: dict[int, tuple[str, int]]) -> bool:
        """Whether the table covers exactly ``current`` (video id -> (embeddings file, frames))."""
        return len(current) == len(self.entries) and all(
            (e := self.entries.get(vid)) is not None and e.embeddings == name
            for vid, (name, _) in current.items()
        )

    # ------------------------------------------------------------------ building
    def updated(
        self,
        current: dict[int, tuple[str, int]],
        load: Callable[[int], tuple[np.ndarray, np.ndarray]],
        *,
        root: Path | None,
    ) -> tuple[FrameTable, list[int]]:
        """This table brought up to ``current``, and the global rows it appended (for the index).

        Args:
            current: video id -> (embeddings file name, frames) of every searchable video.
            load: reads a video's ``(embeddings (T, D), timestamps (T,))`` from the store.
            root: directory to write the new shard to; ``None`` keeps it in memory.
        """
        entries = {
            vid: e for vid, e in self.entries.items() if vid in current and current[vid][0] == e.embeddings
        }
        new = {vid: current[vid][1] for vid in sorted(current) if vid not in entries}
        shards = list(self.shards)
        appended: list[int] = []
        if new:
            shard, placed = _write_shard(new, load, root=root, dim=self.dim, index=len(shards))
            for vid, (start, count) in placed.items():
                entries[vid] = TableEntry(vid, current[vid][0], len(shards), start, count)
            base = self.n_rows
            appended = list(range(base, base + shard.embeddings.shape[0]))
            shards.append(shard)
        table = FrameTable(
            shards, entries, dim=self.dim, index_name=self.index_name, trained_rows=self.trained_rows
        )
        return table, appended

    def needs_rebuild(self) -> bool:
        """Whether dead rows or growth since training call for a full rebuild."""
        if self.n_rows == 0:
            return False
        dead = self.n_rows - self.n_live
        grown = self.n_rows - self.trained_rows
        return dead > MAX_DEAD_FRACTION * self.n_rows or (
            self.index_name is not None and grown > MAX_GROWTH * max(self.trained_rows, 1)
        )

    @classmethod
    def build(
        cls,
        current: dict[int, tuple[str, int]],
        load: Callable[[int], tuple[np.ndarray, np.ndarray]],
        *,
        dim: int,
        root: Path | None,
    ) -> FrameTable:
        """A fresh table of ``current`` (one shard)."""
        empty = cls([], {}, dim=dim)
        table, _ = empty.updated(current, load, root=root)
        return table

    # ------------------------------------------------------------------ persistence
    def save(self, root: Path) -> None:
        """Write ``table.json`` (the shards are already on disk), atomically."""
        doc = {
            "version": TABLE_VERSION,
            "dim": self.dim,
            "shards": [{"name": s.name, "rows": int(s.embeddings.shape[0])} for s in self.shards],
            "videos": [[e.video_id, e.embeddings, e.shard, e.start, e.count] for e in self.entries.values()],
            "index": self.index_name,
            "trained_rows": self.trained_rows,
        }
        write_text_atomic(root / _TABLE, json.dumps(doc, separators=(",", ":")))

    @classmethod
    def load(cls, root: Path, *, dim: int) -> FrameTable | None:
        """The table saved under ``root``, or ``None`` when there is none or it is unusable."""
        path = root / _TABLE
        for attempt in range(2):  # a newer table may collect a shard between our read and our open
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                return None
            except (OSError, ValueError) as exc:
                logger.warning("frame table %s is unreadable (%s); rebuilding it", path, exc)
                return None
            if doc.get("version") != TABLE_VERSION or doc.get("dim") != dim:
                return None
            try:
                shards = [_Shard.open(root, s["name"], rows=s["rows"], dim=dim) for s in doc["shards"]]
            except LibraryError as exc:
                if attempt == 0:
                    continue
                logger.warning("%s; rebuilding the frame table", exc)
                return None
            entries = {int(v[0]): TableEntry(int(v[0]), str(v[1]), *map(int, v[2:])) for v in doc["videos"]}
            return cls(
                shards, entries, dim=dim, index_name=doc.get("index"), trained_rows=doc["trained_rows"]
            )
        return None

    def collect(self, root: Path) -> None:
        """Delete files under ``root`` this table does not name (call while holding ``locked``)."""
        keep = {_TABLE, _LOCK}
        for s in self.shards:
            keep |= {f"{s.name}{suffix}" for suffix in _PARTS.values()}
        if self.index_name is not None:
            keep |= {self.index_name, f"{self.index_name}.owners.npy"}
        for path in root.iterdir():
            if path.name not in keep:
                path.unlink(missing_ok=True)


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """Hold ``root/lock`` exclusively (one process updates the table at a time)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / _LOCK).open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def new_name(prefix: str) -> str:
    """A fresh file stem (``shard-<hex>``): names are never reused, so a reader's map stays valid."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def _write_shard(
    counts: dict[int, int],
    load: Callable[[int], tuple[np.ndarray, np.ndarray]],
    *,
    root: Path | None,
    dim: int,
    index: int,
) -> tuple[_Shard, dict[int, tuple[int, int]]]:
    """Copy videos' frames into one new shard (written to ``root``, or kept in memory).

    ``counts`` (video id -> frames, from the catalog) sizes the shard up front, so frames stream
    from the store into it one video at a time and the whole library is never held in memory.
    """
    placed: dict[int, tuple[int, int]] = {}
    n = 0
    for vid, count in counts.items():
        placed[vid] = (n, count)
        n += count
    name = new_name("shard")
    shapes = {"embeddings": (n, dim), "timestamps": (n,), "codes": (n, dim), "scales": (n,)}
    dtypes = {"embeddings": np.float16, "timestamps": np.float64, "codes": np.int8, "scales": np.float32}
    if root is None:
        arrays = {key: np.empty(shapes[key], dtype=dtypes[key]) for key in _PARTS}
    else:
        root.mkdir(parents=True, exist_ok=True)
        arrays = {
            key: np.lib.format.open_memmap(_partial(root, f"{name}{suffix}"), "w+", dtypes[key], shapes[key])
            for key, suffix in _PARTS.items()
        }
    for vid, (start, count) in placed.items():
        embeddings, timestamps = load(vid)
        if embeddings.shape != (count, dim):
            raise LibraryError(
                f"video id {vid}: its embeddings are {embeddings.shape}, the catalog says ({count}, {dim}); "
                "re-run index"
            )
        rows = np.asarray(embeddings, dtype=np.float16)
        arrays["embeddings"][start : start + count] = rows
        arrays["timestamps"][start : start + count] = timestamps
        codes, scales = quantize_rows(rows)
        arrays["codes"][start : start + count] = codes
        arrays["scales"][start : start + count] = scales
    if root is not None:
        for key, suffix in _PARTS.items():
            arr = arrays[key]
            assert isinstance(arr, np.memmap)
            arr.flush()
            with _partial(root, f"{name}{suffix}").open("rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(_partial(root, f"{name}{suffix}"), root / f"{name}{suffix}")
        del arrays
        shard = _Shard.open(root, name, rows=n, dim=dim)
    else:
        shard = _Shard(name, **arrays)
    logger.debug("wrote frame shard %s: %d videos, %d rows (shard %d)", name, len(counts), n, index)
    return shard, placed


def _partial(root: Path, final: str) -> Path:
    return root / f".{final}.partial-{os.getpid()}"
