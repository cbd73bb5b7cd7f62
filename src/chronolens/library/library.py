"""``Library``: the embedded on-disk video library (storage only).

A library is one directory::

    manifest.json        encoder, weights sha256, sampling, versions (written last on creation)
    catalog.sqlite       the videos (SQLite, WAL)
    embeddings/*.npz     per-video frame embeddings (T, D) + timestamps (T,)
    ann/                 the FAISS frame index, once the library is large enough
    lock                 held while a process writes (ingest)

The library stores and retrieves: videos' records, their frame embeddings and timestamps, and
candidate videos for a query vector from the approximate frame index. It answers no questions:
writing into it is ``chronolens.ingest``, asking it is ``chronolens.tasks`` (``search``)::

    import chronolens

    with chronolens.Library.open("videos.chronolens", model="hf:openai/clip-vit-base-patch32") as lib:
        chronolens.index(lib, ["~/videos"])
        for hit in chronolens.search(lib, "a dog catches a frisbee"):
            print(hit.video, hit.score, hit.moments[0])
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType

import numpy as np

from chronolens.encoders.base import Encoder
from chronolens.errors import LibraryError
from chronolens.library import writes
from chronolens.library.ann import AnnConfig, FrameIndex
from chronolens.library.catalog import Catalog, VideoRecord
from chronolens.library.manifest import (
    MANIFEST_FILE,
    Manifest,
    clip_layout,
    decoder_versions,
    read_manifest,
    write_manifest,
)
from chronolens.library.results import LibraryInfo
from chronolens.library.store import STORAGE_DTYPE, EmbeddingStore
from chronolens.library.view import SearchView, SearchViews
from chronolens.video.sampling import FixedFps, Sampling, parse_sampling

__all__ = [
    "DEFAULT_LIBRARY",
    "LIBRARY_ENTRIES",
    "LIBRARY_ENV",
    "Library",
    "SearchView",
    "default_library_path",
]

logger = logging.getLogger(__name__)

DEFAULT_LIBRARY = ".chronolens"  # library directory used when none is given (and $CHRONOLENS_LIBRARY unset)
LIBRARY_ENV = "CHRONOLENS_LIBRARY"  # environment variable naming the default library directory

_MANIFEST = MANIFEST_FILE
_CATALOG = "catalog.sqlite"
_EMBEDDINGS = "embeddings"
_ANN = "ann"
_LOCK = "lock"
# Every entry a library directory may hold (what `chronolens index` removes of a new, empty one).
LIBRARY_ENTRIES = frozenset(
    {_MANIFEST, _CATALOG, f"{_CATALOG}-wal", f"{_CATALOG}-shm", _EMBEDDINGS, _ANN, _LOCK}
)
_OWN_ENTRIES = LIBRARY_ENTRIES


def default_library_path() -> Path:
    """The library directory used when none is given: ``$CHRONOLENS_LIBRARY`` or ``./.chronolens``."""
    return Path(os.environ.get(LIBRARY_ENV) or DEFAULT_LIBRARY)


def _load_encoder(name: str) -> Encoder:
    from chronolens.encoders import load_encoder  # the package import registers the schemes

    return load_encoder(name)


def _check_loaded(manifest: Manifest, encoder: Encoder, root: Path) -> None:
    """Refuse an encoder whose width, weights or clip layout differ from the library's."""
    manifest.check_encoder(
        name=encoder.name, dim=encoder.dim, weights_sha256=encoder.weights_sha256, library=root
    )
    manifest.check_clips(name=encoder.name, layout=clip_layout(encoder), library=root)


class Library:
    """An on-disk library of indexed videos. Create or open one with ``Library.open``."""

    def __init__(
        self,
        root: Path,
        manifest: Manifest,
        *,
        encoder: Encoder | None,
        ann: AnnConfig,
        read_only: bool = False,
    ) -> None:
        self.root = root
        self.manifest = manifest
        self.read_only = read_only
        self._encoder = encoder
        self._ann_config = ann
        self._catalog = Catalog(root / _CATALOG, read_only=read_only)
        self._store = EmbeddingStore(root / _EMBEDDINGS, read_only=read_only)
        self._indexed: tuple[tuple[int, int], dict[int, VideoRecord]] | None = None
        self._view: tuple[tuple[int, int], SearchView] | None = None
        self._views = SearchViews(
            None if read_only else root / _ANN, dim=manifest.dim, ann=ann, load=self._store_load
        )
        self._write_depth = 0  # nesting of writing() (re-entrant within one Library)
        self._dirty = False  # add_features changed the catalog inside the current writing()

    # ------------------------------------------------------------------ opening
    @staticmethod
    def exists(path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` holds a library (its manifest)."""
        return (Path(path).expanduser() / _MANIFEST).is_file()

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] = DEFAULT_LIBRARY,
        *,
        model: str | None = None,
        create: bool = True,
        sampling: Sampling | None = None,
        encoder: Encoder | None = None,
        ann: AnnConfig | None = None,
        read_only: bool | None = None,
    ) -> Library:
        """Open the library at ``path``, creating it when absent (and ``create`` is true).

        Args:
            path: library directory.
            model: encoder registry name. Required to create; when opening, ``None`` means the
                library's own encoder and any other name raises ``EncoderMismatchError``.
            create: create the library when ``path`` holds none (else ``LibraryError``).
            sampling: frame sampling policy; ``None`` means ``FixedFps(fps=1.0)`` when creating and
                the library's own policy when opening (a different one raises ``EncoderMismatchError``).
            encoder: an already-loaded encoder to use instead of loading ``model`` by name (its
                ``name`` is recorded in the manifest).
            ann: when and how to use the approximate frame index (default ``AnnConfig()``).
            read_only: open an existing library without writing to it (searching works; indexing
                raises ``LibraryError``; an approximate index missing on disk is built in memory).
                ``None`` means read-only exactly when the library directory is not writable.

        Raises:
            LibraryError: no library at ``path`` and ``create`` is false, or ``path`` is a non-empty
                directory that is not a library.
            EncoderMismatchError: ``model``/``encoder``/``sampling`` differ from the library's.
        """
        root = Path(path).expanduser().absolute()
        ann = ann if ann is not None else AnnConfig()
        if model is not None and encoder is not None and model != encoder.name:
            raise ValueError(f"model {model!r} and encoder.name {encoder.name!r} disagree")
        requested = model if model is not None else (encoder.name if encoder is not None else None)
        manifest_path = root / _MANIFEST
        if manifest_path.exists():
            manifest = read_manifest(manifest_path)
            manifest.check_request(
                model=requested, sampling=None if sampling is None else sampling.spec, library=root
            )
            if encoder is not None:
                _check_loaded(manifest, encoder, root)
            if read_only is None:
                read_only = not os.access(root, os.W_OK)
            return cls(root, manifest, encoder=encoder, ann=ann, read_only=read_only)
        if read_only:
            raise LibraryError(f"no chronolens library at {root} to open read-only")
        if not create:
            raise LibraryError(
                f"no chronolens library at {root}; create one with: chronolens index PATH --library {root}"
            )
        if requested is None:
            raise LibraryError(f"creating a library at {root} needs a model (--model NAME)")
        if root.exists() and not root.is_dir():
            raise LibraryError(f"library path {root} exists and is not a directory")
        if root.is_dir() and any(p.name not in _OWN_ENTRIES for p in root.iterdir()):
            raise LibraryError(
                f"{root} is a non-empty directory that is not a chronolens library; choose another --library"
            )
        if encoder is None:
            encoder = _load_encoder(requested)
        policy = sampling if sampling is not None else FixedFps(fps=1.0)
        try:
            return cls._create(root, manifest_path, encoder=encoder, policy=policy, ann=ann)
        except OSError as exc:  # read-only or full file system, no permission, a file in the way
            raise LibraryError(f"cannot create library {root}: {exc.strerror or exc}") from exc

    @classmethod
    def _create(
        cls, root: Path, manifest_path: Path, *, encoder: Encoder, policy: Sampling, ann: AnnConfig
    ) -> Library:
        """Make the library directory, its catalog and store, then its manifest (last)."""
        root.mkdir(parents=True, exist_ok=True)
        pyav, ffmpeg = decoder_versions()
        from chronolens.version import __version__

        now = time.time()
        layout = clip_layout(encoder)
        manifest = Manifest(
            encoder=encoder.name,
            weights_sha256=encoder.weights_sha256,
            dim=encoder.dim,
            sampling=policy.spec,
            decode_size=encoder.image_size,
            chronolens_version=__version__,
            pyav_version=pyav,
            ffmpeg_version=ffmpeg,
            created=now,
            updated=now,
            clips=None if layout is None else layout.to_dict(),
        )
        library = cls(root, manifest, encoder=encoder, ann=ann)
        # The manifest is written last: a directory without one is not (yet) a library.
        write_manifest(manifest_path, manifest)
        logger.info("created library %s (encoder %s, %s)", root, encoder.name, policy.spec)
        return library

    @property
    def ann_config(self) -> AnnConfig:
        """When and how this library uses its approximate frame index."""
        return self._ann_config

    @property
    def catalog(self) -> Catalog:
        """The library's catalog, for reading (side tables read through ``Catalog.query``).

        Writes go through :meth:`writing`, which also holds the library's write lock.
        """
        return self._catalog

    @property
    def sampling(self) -> Sampling:
        """The library's frame sampling policy."""
        return parse_sampling(self.manifest.sampling)

    @property
    def encoder(self) -> Encoder:
        """The library's encoder, loaded on first use and checked against the manifest."""
        if self._encoder is None:
            encoder = _load_encoder(self.manifest.encoder)
            _check_loaded(self.manifest, encoder, self.root)
            self._encoder = encoder
        return self._encoder

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def writing(self) -> Iterator[tuple[Catalog, EmbeddingStore]]:
        """Hold the library's write lock and hand out its catalog and embedding store.

        The one way to write into a library (``chronolens.ingest`` and ``add_features`` use it).
        Re-entrant within one ``Library``: a nested ``writing()`` shares the outer lock. On leaving
        the outermost one, the manifest's ``updated`` time is refreshed when ``add_features``
        changed the catalog.

        Raises:
            LibraryError: the library is read-only, or another process is writing into it.
        """
        import fcntl

        if self.read_only:
            raise LibraryError(f"library {self.root} is open read-only; it cannot be indexed into")
        if self._write_depth:
            self._write_depth += 1
            try:
                yield self._catalog, self._store
            finally:
                self._write_depth -= 1
            return
        with (self.root / _LOCK).open("a") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise LibraryError(
                    f"another process is indexing library {self.root}; wait for it to finish"
                ) from exc
            self._write_depth = 1
            try:
                yield self._catalog, self._store
                if self._dirty:
                    self.touch()
            finally:
                self._write_depth = 0
                self._dirty = False
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def add_features(
        self,
        video: str | os.PathLike[str],
        timestamps: np.ndarray,
        embeddings: np.ndarray,
        *,
        duration: float | None = None,
    ) -> VideoRecord:
        """Add a video from precomputed frame features instead of decoding it.

        For features made outside chronolens (Lighthouse, moment_detr) or by another process.
        They must come from the library's encoder for text queries to mean anything; they are
        validated (``chronolens.library.writes.validate_features``), L2-normalised and committed
        like a decoded video (the file first, then the row). Adding the same video again
        replaces its features. Call inside ``with library.writing():`` to add many under one lock.

        Args:
            video: the video's path (its catalog key; the file need not exist here).
            timestamps: ``(T,)`` increasing seconds of each row.
            embeddings: ``(T, D)`` features, D the library's dimension.
            duration: the video's duration (default: one sampling step past the last row).

        Returns:
            The video's catalog record.

        Raises:
            LibraryError: invalid features, a read-only library, or another process writing.
        """
        path = writes.resolve(video)
        emb, ts = writes.validate_features(embeddings, timestamps, dim=self.manifest.dim, source=path)
        size, mtime_ns = writes.file_identity(path)
        stored = emb.astype(STORAGE_DTYPE)  # converted once: hashed and saved as stored
        with self.writing() as (catalog, store):
            writes.commit_video(
                catalog,
                store,
                path=path,
                size=size,
                mtime_ns=mtime_ns,
                content_hash=writes.features_hash(stored, ts),
                embeddings=stored,
                timestamps=ts,
                duration=writes.features_duration(ts, duration),
                fps=0.0,
                codec=writes.FEATURES_CODEC,
                width=0,
                height=0,
            )
            self._dirty = True
        record = self._catalog.get(path)
        assert record is not None
        return record

    def touch(self) -> None:
        """Record in the manifest that the library's contents changed (its ``updated`` time)."""
        self.manifest = self.manifest.touched()
        write_manifest(self.root / _MANIFEST, self.manifest)

    # ------------------------------------------------------------------ reading
    def videos(self) -> list[VideoRecord]:
        """Every catalogued video (indexed, failed and missing), ordered by path."""
        return self._catalog.records()

    def record(self, video: str | os.PathLike[str]) -> VideoRecord:
        """The catalog record of ``video`` (see ``lookup``).

        Raises:
            LibraryError: when the video is not in the library.
        """
        record = self.lookup(video)
        if record is None:
            path = Path(video).expanduser().resolve()
            raise LibraryError(f"{path} is not in library {self.root}; add it with `chronolens index {path}`")
        return record

    def lookup(self, video: str | os.PathLike[str]) -> VideoRecord | None:
        """The catalog record of ``video``, or ``None``: its absolute path as given (how ``index``
        records a path reached through a symbolic link), else the fully resolved one."""
        given = Path(video).expanduser().absolute()
        record = self._catalog.get(str(given))
        if record is None:
            resolved = given.resolve()
            record = self._catalog.get(str(resolved)) if resolved != given else None
        return record

    def frame_embeddings(self, video: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
        """The stored frame embeddings and their timestamps of an indexed video.

        Returns:
            ``(embeddings (T, D) float32, timestamps (T,) float64 seconds)``.

        Raises:
            LibraryError: when the video is not indexed (missing, failed or unknown).
        """
        record = self.record(video)
        if record.status != "indexed" or record.embeddings is None:
            raise LibraryError(f"{record.path} is {record.status} in library {self.root}, not indexed")
        embeddings, timestamps = self.load(record.id)
        return embeddings.astype(np.float32, copy=False), timestamps

    def indexed_records(self, videos: Iterable[str | os.PathLike[str]] | None = None) -> list[VideoRecord]:
        """The searchable videos sorted by path, or only those of ``videos`` (matched as
        :meth:`lookup` matches a path: as given, made absolute, or fully resolved)."""
        records = sorted(self.indexed().values(), key=lambda r: r.path)
        if videos is None:
            return records
        wanted: set[str] = set()
        for video in videos:
            given = Path(video).expanduser().absolute()
            wanted |= {str(given), str(given.resolve())}
        return [r for r in records if r.path in wanted]

    def indexed(self) -> dict[int, VideoRecord]:
        """The searchable videos (indexed, with at least one frame) by catalog id.

        Held in memory between calls and re-read only after the catalog changed (one cheap
        ``PRAGMA data_version`` query per call), so a query never re-reads the catalog.
        """
        generation = self._catalog.generation()
        if self._indexed is None or self._indexed[0] != generation:
            records = {r.id: r for r in self._catalog.records("indexed") if r.n_frames > 0}
            self._indexed = (generation, records)
        return self._indexed[1]

    def load(self, video_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame embeddings ``(T, D)`` float32 and timestamps ``(T,)`` of a catalog id.

        Read from the frame table when it covers the video (a memory-mapped slice), else from the
        video's embeddings file.

        Raises:
            LibraryError: the id has no embeddings.
        """
        view = self._view[1] if self._view is not None else None
        record = self.indexed().get(video_id) or self._catalog.get_by_id(video_id)
        if record is None or record.embeddings is None:
            raise LibraryError(f"video id {video_id} has no embeddings in library {self.root}")
        if view is not None:
            entry = view.table.entries.get(video_id)
            if entry is not None and entry.embeddings == record.embeddings:
                embeddings, timestamps = view.table.frames(video_id)
                return embeddings.astype(np.float32), np.array(timestamps, dtype=np.float64)
        return self._store.load(record.embeddings)

    def uses_ann(self) -> bool:
        """Whether the library is large enough to search through the approximate frame index."""
        return sum(r.n_frames for r in self.indexed().values()) >= self._ann_config.min_frames

    def frame_index(self) -> FrameIndex | None:
        """The approximate frame index of the current catalog (``None``: searched exactly)."""
        return self.search_view().index

    def search_view(self) -> SearchView:
        """The searchable videos, their frame table and (large libraries) the approximate index.

        Cached in memory for the current catalog contents (checked with one ``PRAGMA
        data_version``); otherwise read from ``ann/`` when it is up to date, else brought up to date
        there — or in memory only, for a read-only library (``chronolens.library.view``).
        """
        generation = self._catalog.generation()
        if self._view is not None and self._view[0] == generation:
            return self._view[1]
        view = self._views.refresh(self.indexed())
        self._view = (generation, view)
        return view

    def _store_load(self, video_id: int) -> tuple[np.ndarray, np.ndarray]:
        record = self.indexed()[video_id]
        return self._store.load(str(record.embeddings))

    def info(self) -> LibraryInfo:
        """A summary of the library (no encoder needed)."""
        indexed = list(self.indexed().values())
        counts = self._catalog.counts()
        disk = sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
        m = self.manifest
        return LibraryInfo(
            path=str(self.root),
            encoder=m.encoder,
            weights_sha256=m.weights_sha256,
            dim=m.dim,
            sampling=m.sampling,
            decode_size=m.decode_size,
            n_indexed=counts["indexed"],
            n_failed=counts["failed"],
            n_missing=counts["missing"],
            n_frames=sum(r.n_frames for r in indexed),
            total_duration=float(sum(r.duration for r in indexed)),
            disk_bytes=disk,
            search_mode="ivf-pq" if self.uses_ann() else "exact",
            chronolens_version=m.chronolens_version,
            pyav_version=m.pyav_version,
            ffmpeg_version=m.ffmpeg_version,
            created=m.created,
            updated=m.updated,
        )

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Release the catalog connection and caches (idempotent)."""
        self._catalog.close()
        self._indexed = None
        self._view = None

    def __enter__(self) -> Library:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        m = self.manifest
        return f"Library({str(self.root)!r}, encoder={m.encoder!r}, sampling={m.sampling!r})"
