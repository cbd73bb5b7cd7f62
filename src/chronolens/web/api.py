"""The JSON API under ``/api/``: the page's only source of data.

Every answer is the object the CLI prints with ``--json`` (``SearchResult.to_json``,
``GroundingResult.to_json``, ``LibraryInfo.to_json``, ``VideoRecord.to_json``), plus the catalog
``id`` each video is fetched by (media, thumbnails and previews are addressed by id only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from chronolens.web.config import ServeConfig
from chronolens.web.media import PreviewCache, media_type, playback_note, served_file, thumbnail_jpeg
from chronolens.web.worker import LibraryWorker

if TYPE_CHECKING:
    from chronolens import Library, VideoEmbeddings, VideoRecord
    from chronolens.tasks.shots import ShotResult

KEYFRAMES = 6  # keyframes listed per video by /api/video/{id} (the page's strip of thumbnails)

__all__ = ["ApiState", "build_router"]


@dataclass
class ApiState:
    """What the routes share: the settings, the library's thread and the preview cache."""

    config: ServeConfig
    worker: LibraryWorker
    previews: PreviewCache


class IndexRequest(BaseModel):
    """Body of ``POST /api/index`` (only with ``--allow-index``)."""

    paths: list[str] = Field(min_length=1, max_length=64)


def video_json(record: VideoRecord) -> dict[str, Any]:
    """``VideoRecord.to_json`` plus its ``id`` and whether a browser can play it."""
    note = playback_note(record)
    return {"id": record.id, **record.to_json(), "playable": note is None, "playback_note": note}


def _query_text(q: str) -> str:
    text = q.strip()
    if not text:
        raise HTTPException(400, "the query is empty: say what to look for, e.g. 'a red circle'")
    return text


def _indexed(library: Library, video_id: int) -> VideoRecord:
    record = library.catalog.get_by_id(video_id)
    if record is None:
        raise HTTPException(404, f"no video with id {video_id} in the library")
    if record.status != "indexed" or record.n_frames == 0:
        raise HTTPException(404, f"video {video_id} is {record.status}, not indexed: {record.error or ''}")
    return record


def _embeddings(library: Library, video_id: int) -> VideoEmbeddings:
    import chronolens

    return chronolens.video_embeddings(_indexed(library, video_id).path, library=library)


def _parse_id(text: str) -> int:
    """A catalog id from the URL; anything else (a path, ``..``) is simply not a video: 404."""
    if not text.isdigit() or len(text) > 18:
        raise HTTPException(404, "no such video")
    return int(text)


def build_router(state: ApiState) -> APIRouter:
    """The ``/api`` routes over ``state`` (limits from ``state.config``)."""
    cfg = state.config
    worker = state.worker
    router = APIRouter(prefix="/api")
    q_required = Query(min_length=1, max_length=cfg.max_query_chars, description="query text")
    q_optional = Query(None, max_length=cfg.max_query_chars, description="query text (omit: what stands out)")
    top_k = Query(10, ge=1, le=cfg.max_top_k)
    windows = Query(5, ge=1, le=cfg.max_top_k)

    @router.get("/info")
    async def info() -> dict[str, Any]:
        """The library summary (``chronolens info --json``)."""
        return await worker.call(lambda lib: lib.info().to_json())

    @router.get("/videos")
    async def videos() -> dict[str, Any]:
        """Every catalogued video: indexed, failed (with the reason) and missing."""
        return {"videos": await worker.call(lambda lib: [video_json(r) for r in lib.videos()])}

    @router.get("/video/{video_id}")
    async def video(video_id: str) -> dict[str, Any]:
        """One video's record, and the room for what other rooms add (shots, transcript)."""
        vid = _parse_id(video_id)

        def read(lib: Library) -> dict[str, Any]:
            record = lib.catalog.get_by_id(vid)
            if record is None:
                raise HTTPException(404, f"no video with id {vid} in the library")
            shots = _shots(lib, record)
            return {
                "video": video_json(record),
                "shots": shots.to_json() if shots is not None else None,
                "keyframes": _keyframe_times(lib, record, shots),
                "transcript": None,
            }

        return await worker.call(read)

    @router.get("/search")
    async def search(
        q: str = q_required,
        top_k: int = top_k,
        moments: int = Query(3, ge=0, le=cfg.max_moments),
        saliency: bool = False,
        decompose: bool = True,
    ) -> dict[str, Any]:
        """Best videos and moments (``chronolens search --json``), each with its ``id``."""
        text = _query_text(q)

        def run(lib: Library) -> list[dict[str, Any]]:
            import chronolens

            hits = chronolens.search(
                lib, text, top_k=top_k, moments_per_video=moments, decompose=decompose, saliency=saliency
            )
            ids = {r.path: r.id for r in lib.indexed().values()}
            return [{"id": ids.get(h.video), **h.to_json()} for h in hits]

        return {"query": q, "results": await worker.call(run)}

    @router.get("/ground")
    async def ground(
        video: str, q: str = q_required, top_k: int = windows, decompose: bool = True
    ) -> dict[str, Any]:
        """Where ``q`` happens in one video (``chronolens ground --json``)."""
        text, vid = _query_text(q), _parse_id(video)

        def run(lib: Library) -> dict[str, Any]:
            import chronolens

            source = _embeddings(lib, vid)
            result = chronolens.ground(source, text, top_k=top_k, decompose=decompose)
            return {"video": source.path, "id": vid, "query": q, **result.to_json()}

        return await worker.call(run)

    @router.get("/highlights")
    async def highlights(video: str, q: str | None = q_optional, top_k: int = windows) -> dict[str, Any]:
        """Per-clip saliency and top spans, query-free without ``q`` (``chronolens highlights --json``)."""
        vid = _parse_id(video)
        text = _query_text(q) if q is not None else None

        def run(lib: Library) -> dict[str, Any]:
            import chronolens

            source = _embeddings(lib, vid)
            result = chronolens.highlights(source, text, config=chronolens.HighlightConfig(top_k=top_k))
            return {"video": source.path, "id": vid, "query": q, **result.to_json()}

        return await worker.call(run)

    @router.get("/curve")
    async def curve(video: str, q: str = q_required) -> dict[str, Any]:
        """The query's cosine similarity with every stored frame of one video (the chart's line)."""
        text, vid = _query_text(q), _parse_id(video)

        def run(lib: Library) -> dict[str, Any]:
            source = _embeddings(lib, vid)
            query = source.encoder.encode_texts([text])[0].astype(np.float32)  # (D,)
            similarity = source.embeddings @ query  # (T,)
            return {
                "video": source.path,
                "id": vid,
                "query": q,
                "duration": source.duration,
                "times": [float(t) for t in source.timestamps],
                "similarity": [float(s) for s in similarity],
            }

        return await worker.call(run)

    @router.get("/media/{video_id}", response_class=FileResponse)
    async def media(video_id: str) -> FileResponse:
        """The video file itself, with HTTP Range support (206 / 416, ``Accept-Ranges``)."""
        path = served_file(await worker.call(lambda lib: lib.catalog.get_by_id(_parse_id(video_id))))
        if path is None:
            raise HTTPException(404, "no such video")
        return FileResponse(path, media_type=media_type(str(path)), content_disposition_type="inline")

    @router.get("/thumbnail/{video_id}", response_class=Response)
    async def thumbnail(video_id: str, t: float = Query(0.0, ge=0.0, le=1e7)) -> Response:
        """A JPEG of the frame shown at ``t`` seconds (clamped to the video)."""
        record = await worker.call(lambda lib: lib.catalog.get_by_id(_parse_id(video_id)))
        path = served_file(record)
        if path is None or record is None:
            raise HTTPException(404, "no such video")
        at = min(t, max(record.duration - 1e-3, 0.0))
        jpeg = await run_in_threadpool(thumbnail_jpeg, path, at, size=cfg.thumbnail_size)
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    @router.get("/preview/{video_id}", response_class=FileResponse)
    async def preview(
        video_id: str, start: float = Query(ge=0.0, le=1e7), end: float = Query(gt=0.0, le=1e7)
    ) -> FileResponse:
        """An H.264 mp4 of ``[start, end)``, transcoded on first request and cached."""
        if not end > start:
            raise HTTPException(400, f"end must be > start, got [{start}, {end})")
        if end - start > cfg.max_preview_seconds:
            raise HTTPException(400, f"previews are at most {cfg.max_preview_seconds:g} s long")
        record = await worker.call(lambda lib: lib.catalog.get_by_id(_parse_id(video_id)))
        path = served_file(record)
        if path is None or record is None:
            raise HTTPException(404, "no such video")
        end = min(end, record.duration)
        if not end > start:
            raise HTTPException(400, f"start {start} s is past the end of the video ({record.duration} s)")
        out = await run_in_threadpool(state.previews.get, record, path, start, end)
        return FileResponse(out, media_type="video/mp4", content_disposition_type="inline")

    if cfg.allow_index:

        @router.post("/index")
        async def index(body: IndexRequest) -> dict[str, Any]:
            """Index files or folders into the library (``chronolens index --json``); --allow-index only."""

            def run(lib: Library) -> dict[str, Any]:
                import chronolens

                return chronolens.index(lib, body.paths, progress=False).to_json()

            return await worker.call(run)

    return router


def _shots(library: Library, record: VideoRecord) -> ShotResult | None:
    """The video's shots (stored, else cut from its embeddings), or ``None`` when unavailable."""
    if record.status != "indexed" or record.n_frames == 0:
        return None
    from chronolens.errors import ChronolensError
    from chronolens.tasks.shots import library_shots

    try:
        return library_shots(library, record.path)
    except ChronolensError:
        return None


def _keyframe_times(library: Library, record: VideoRecord, shots: ShotResult | None) -> list[float]:
    """Seconds of the video's ``KEYFRAMES`` keyframes (one per shot, then by embedding diversity).

    Chosen from the stored shots and frame embeddings, so nothing is decoded; the page shows
    them through ``/api/thumbnail``. Empty when the video has no shots.
    """
    if shots is None:
        return []
    from chronolens.tasks.keyframes import select_keyframes

    stored = _embeddings(library, record.id)
    picks = select_keyframes(shots, KEYFRAMES, stored.embeddings, stored.timestamps)
    return [round(k.time, 3) for k in picks]
