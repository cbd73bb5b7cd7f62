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
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import numpy as np

from chronolens.encoders.base import Encoder
from chronolens.errors import LibraryError, MissingDependencyError
from chronolens.library.ann import AnnConfig, FrameIndex
from chronolens.library.catalog import Catalog, VideoRecord
from chronolens.library.manifest import Manifest, decoder_versions, read_manifest, write_manifest
from chronolens.library.results import LibraryInfo
from chronolens.library.store import EmbeddingStore
from chronolens.video.sampling import FixedFps, Sampling, parse_sampling

__all__ = ["DEFAULT_LIBRARY", "LIBRARY_ENTRIES", "LIBRARY_ENV", "Library", "default_library_path"]

logger = logging.getLogger(__name__)

DEFAULT_LIBRARY = ".chronolens"  # library directory used when none is given (and $CHRONOLENS_LIBRARY unset)
LIBRARY_ENV = "CHRONOLENS_LIBRARY"  # environment variable naming the default library directory
CACHE_MAX_FRAMES = 500_000  # frame embeddings kept in memory between searches (~1 GB at D=512 float32)

_MANIFEST = "manifest.json"
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
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._cached_frames = 0
        self._ann_index: tuple[str, FrameIndex] | None = None

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
                manifest.check_encoder(
                    name=encoder.name, dim=encoder.dim, weights_sha256=encoder.weights_sha256, library=root
                )
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
        )
        library = cls(root, manifest, encoder=encoder, ann=ann)
        # The manifest is written last: a directory without one is not (yet) a library.
        write_manifest(manifest_path, manifest)
        logger.info("created library %s (encoder %s, %s)", root, encoder.name, policy.spec)
        return library

    @property
    def sampling(self) -> Sampling:
        """The library's frame sampling policy."""
        return parse_sampling(self.manifest.sampling)

    @property
    def encoder(self) -> Encoder:
        """The library's encoder, loaded on first use and checked against the manifest."""
        if self._encoder is None:
            encoder = _load_encoder(self.manifest.encoder)
            self.manifest.check_encoder(
                name=encoder.name, dim=encoder.dim, weights_sha256=encoder.weights_sha256, library=self.root
            )
            self._encoder = encoder
        return self._encoder

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def writing(self) -> Iterator[tuple[Catalog, EmbeddingStore]]:
        """Hold the library's write lock and hand out its catalog and embedding store.

        The one way to write into a library (``chronolens.ingest`` uses it). On leaving, the
        manifest's ``updated`` time is refreshed when the catalog changed, and the approximate
        frame index is brought up to date so that the first search after indexing is fast.

        Raises:
            LibraryError: the library is read-only, or another process is writing into it.
        """
        import fcntl

        if self.read_only:
            raise LibraryError(f"library {self.root} is open read-only; it cannot be indexed into")
        with (self.root / _LOCK).open("a") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise LibraryError(
                    f"another process is indexing library {self.root}; wait for it to finish"
                ) from exc
            try:
                yield self._catalog, self._store
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def touch(self) -> None:
        """Record in the manifest that the library's contents changed (its ``updated`` time)."""
        self.manifest = self.manifest.touched()
        write_manifest(self.root / _MANIFEST, self.manifest)

    # ------------------------------------------------------------------ reading
    def videos(self) -> list[VideoRecord]:
        """Every catalogued video (indexed, failed and missing), ordered by path."""
        return self._catalog.records()

    def record(self, video: str | os.PathLike[str]) -> VideoRecord:
        """The catalog record of ``video`` (any path form; resolved to the absolute path).

        Raises:
            LibraryError: when the video is not in the library.
        """
        path = str(Path(video).expanduser().resolve())
        record = self._catalog.get(path)
        if record is None:
            raise LibraryError(f"{path} is not in library {self.root}; add it with `chronolens index {path}`")
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

    def indexed(self) -> dict[int, VideoRecord]:
        """The searchable videos (indexed, with at least one frame) by catalog id."""
        return {r.id: r for r in self._catalog.records("indexed") if r.n_frames > 0}

    def load(self, video_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame embeddings ``(T, D)`` and timestamps ``(T,)`` of a catalog id (cached in memory).

        Raises:
            LibraryError: the id has no embeddings.
        """
        record = self._catalog.get_by_id(video_id)
        if record is None or record.embeddings is None:
            raise LibraryError(f"video id {video_id} has no embeddings in library {self.root}")
        cached = self._cache.get(record.embeddings)
        if cached is not None:
            return cached
        embeddings, timestamps = self._store.load(record.embeddings)
        if self._cached_frames + embeddings.shape[0] > CACHE_MAX_FRAMES:
            self._cache.clear()
            self._cached_frames = 0
        self._cache[record.embeddings] = (embeddings, timestamps)
        self._cached_frames += embeddings.shape[0]
        return embeddings, timestamps

    def _n_frames(self, records: list[VideoRecord]) -> int:
        return sum(r.n_frames for r in records)

    def uses_ann(self) -> bool:
        """Whether the library is large enough to search through the approximate frame index."""
        return self._n_frames(self._catalog.records("indexed")) >= self._ann_config.min_frames

    def _fingerprint(self, records: list[VideoRecord]) -> str:
        digest = hashlib.sha256()
        for r in sorted(records, key=lambda r: r.id):
            digest.update(f"{r.id}:{r.embeddings}:{r.n_frames};".encode())
        return digest.hexdigest()[:16]

    def frame_index(self) -> FrameIndex | None:
        """The FAISS frame index for the current catalog: cached, loaded from disk, or rebuilt.

        Returns ``None`` (exact search) when FAISS is not installed.
        """
        records = [r for r in self._catalog.records("indexed") if r.n_frames > 0]
        fingerprint = self._fingerprint(records)
        if self._ann_index is not None and self._ann_index[0] == fingerprint:
            return self._ann_index[1]
        ann_dir = self.root / _ANN
        path = ann_dir / f"frames-{fingerprint}.faiss"
        try:
            if path.exists():
                index = FrameIndex.load(path, nprobe=self._ann_config.nprobe)
            else:

                def chunks() -> Iterator[tuple[int, np.ndarray]]:
                    for r in records:
                        yield r.id, self.load(r.id)[0]

                index = FrameIndex.build(
                    chunks, dim=self.manifest.dim, n_total=self._n_frames(records), config=self._ann_config
                )
                if self.read_only:
                    self._ann_index = (fingerprint, index)
                    return index  # kept in memory only
                ann_dir.mkdir(exist_ok=True)
                index.save(path)
                for old in ann_dir.iterdir():
                    if not old.name.startswith(f"frames-{fingerprint}"):
                        old.unlink(missing_ok=True)
        except MissingDependencyError as exc:
            logger.warning("%s; searching exactly (slower on large libraries)", exc)
            return None
        self._ann_index = (fingerprint, index)
        return index

    def candidates(self, query: np.ndarray, records: dict[int, VideoRecord] | None = None) -> list[int]:
        """Videos worth scoring exactly for a query vector: ANN candidates, or every video.

        Below ``AnnConfig.min_frames`` (or without FAISS) every searchable video is a candidate;
        above it, the videos owning the query's ``candidate_frames`` nearest frames in the
        approximate index.

        Args:
            query: ``(D,)`` float32 L2-normalised query embedding.
            records: the searchable videos (``indexed()``), when the caller already has them.

        Returns:
            Catalog ids, in the order they were found.
        """
        records = self.indexed() if records is None else records
        if self._n_frames(list(records.values())) >= self._ann_config.min_frames:
            index = self.frame_index()
            if index is not None:
                return [
                    v
                    for v in index.candidate_videos(query, self._ann_config.candidate_frames)
                    if v in records
                ]
        return list(records)

    def info(self) -> LibraryInfo:
        """A summary of the library (no encoder needed)."""
        indexed = self._catalog.records("indexed")
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
            n_frames=self._n_frames(indexed),
            total_duration=float(sum(r.duration for r in indexed)),
            disk_bytes=disk,
            search_mode="ivf-pq" if self._n_frames(indexed) >= self._ann_config.min_frames else "exact",
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
        self._cache.clear()
        self._ann_index = None

    def __enter__(self) -> Library:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        m = self.manifest
        return f"Library({str(self.root)!r}, encoder={m.encoder!r}, sampling={m.sampling!r})"
