"""``chronolens index PATH...``: add videos (files or folders, recursed) to a library."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chronolens.ingest.ray_pipeline import RayConfig
    from chronolens.ingest.report import IngestReport
    from chronolens.ingest.shots import ShotsReport
    from chronolens.ingest.speech import SpeechReport
    from chronolens.library import Library
    from chronolens.speech import SpeechBackend

HELP = "index video files and folders into a library (incremental: unchanged files are skipped)"
LOCAL_RAY = ""  # the value of a bare --ray: start a local Ray runtime
SUBTITLES_BACKEND = "subtitles"  # --speech subtitles: read VIDEO.srt / VIDEO.vtt instead of a model


def positive_float(text: str) -> float:
    """argparse type: a float > 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def add_library_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--library DIR`` option shared by the library subcommands."""
    parser.add_argument(
        "--library",
        metavar="DIR",
        default=None,
        help="library directory (default: $CHRONOLENS_LIBRARY, else ./.chronolens)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens index``."""
    parser.add_argument("paths", nargs="*", metavar="PATH", help="video files and/or folders")
    add_library_argument(parser)
    parser.add_argument(
        "--model",
        default=None,
        help="encoder name, see `chronolens models` (new library: default builtin:synth-clip; "
        "existing library: its own encoder)",
    )
    parser.add_argument(
        "--fps", type=positive_float, default=None, help="frames sampled per second (new library: default 1)"
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="re-index an existing library with a new --model / --fps (or new weights): built beside it "
        "from the videos it holds (plus any PATH), swapped in when complete; the old one stays searchable",
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="try again the files that failed before (by default an unchanged failed file stays failed)",
    )
    parser.add_argument(
        "--features",
        action="store_true",
        help="PATHs are precomputed features, one .npy/.npz per video (moment_detr / Lighthouse style), "
        "not videos: added without decoding (see docs/search.md)",
    )
    parser.add_argument(
        "--feature-step",
        type=positive_float,
        default=2.0,
        metavar="S",
        help="with --features: seconds per row of files without timestamps (default 2, QVHighlights clips)",
    )
    parser.add_argument(
        "--shots",
        nargs="?",
        const="histogram",
        default=None,
        metavar="DETECTOR",
        help="after indexing, store each video's shots: histogram (default), embedding (from the stored "
        "frame embeddings, no decoding) or transnetv2 (chronolens[shots]); see `chronolens shots`",
    )
    parser.add_argument(
        "--speech",
        nargs="?",
        const="builtin:whisper-base",
        default=None,
        metavar="BACKEND",
        help="after indexing, transcribe each video into the library for spoken-word search: "
        "builtin:whisper-base (default; chronolens[speech,models]), whisper:<dir or hub id>, or "
        "subtitles (the .srt/.vtt file next to each video); see `chronolens search --modality`",
    )
    parser.add_argument(
        "--speech-language",
        metavar="CODE",
        help="with --speech: the language spoken, e.g. en (default: the model detects it per video)",
    )
    parser.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL_RAY,
        default=None,
        metavar="ADDRESS",
        help="decode and embed on Ray (chronolens[ray]): a local runtime, or the cluster at ADDRESS "
        "(auto, ray://head:10001); the library is the same as without it. Put it after the PATHs, "
        "or write --ray=ADDRESS",
    )
    parser.add_argument("--json", action="store_true", help="print the ingest report as one JSON object")


def _first_missing(root: Path) -> Path | None:
    """The outermost directory of ``root`` (or ``root`` itself) that does not exist yet."""
    missing = None
    for path in (root, *root.parents):
        if path.exists() or path.is_symlink():
            break
        missing = path
    return missing


def _remove_new_library(root: Path, created: Path | None, existed: bool, before: set[str]) -> None:
    """Remove what this run created for a library that ended up holding nothing.

    Never touches a library that existed before; of a directory that existed before, only the
    library entries this run made (not in ``before``) go.
    """
    import shutil

    from chronolens.library.library import LIBRARY_ENTRIES

    if existed:
        return
    if created is not None:
        shutil.rmtree(created, ignore_errors=True)
        return
    if not root.is_dir() or root.is_symlink():
        return
    for name in LIBRARY_ENTRIES - before:
        entry = root / name
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _skipped_summary(report: IngestReport) -> str:
    """The summary's skipped part: ``", skipped N"``, ``", skipped K non-video files"`` or both."""
    bad, other = len(report.skipped), len(report.non_video)
    if bad and other:
        return f", skipped {bad + other} ({other} non-video files)"
    if other:
        return f", skipped {other} non-video file{'s' if other != 1 else ''}"
    return f", skipped {bad}" if bad else ""


def _nothing_found(report: IngestReport) -> bool:
    """Whether the paths held no video file at all (nor a catalogued one that vanished)."""
    return not (report.indexed or report.unchanged or report.failed or report.missing or report.partial)


def _not_found_message(paths: list[str], report: IngestReport) -> str:
    from chronolens.ingest import VIDEO_SUFFIXES

    where = ", ".join(paths)
    message = f"no video files found under {where} (looked for {', '.join(VIDEO_SUFFIXES)})"
    left_out = len(report.skipped) + len(report.non_video)
    return message + (f"; skipped {left_out} other entr{'ies' if left_out != 1 else 'y'}" if left_out else "")


def run(args: argparse.Namespace) -> int:
    """Index the paths and print a summary (exit 1 when every input failed or none was a video)."""
    import chronolens
    from chronolens.encoders import DEFAULT_ENCODER
    from chronolens.errors import ChronolensError, LibraryError, UsageError
    from chronolens.ingest import IngestConfig, rebuild
    from chronolens.library import default_library_path

    root = Path(args.library or default_library_path())
    exists = chronolens.Library.exists(root)
    ray = _ray_config(args)  # before anything else: --ray may have taken the only PATH
    if not args.paths and not (args.rebuild and exists):
        raise UsageError("name at least one video file or folder to index (PATH ...)")
    model = args.model if args.model is not None or exists else DEFAULT_ENCODER
    sampling = chronolens.FixedFps(fps=args.fps) if args.fps is not None else None
    where = root.expanduser().absolute()
    created = None if exists else _first_missing(where)
    before = {p.name for p in where.iterdir()} if not exists and where.is_dir() else set()
    # --retry-failed with --rebuild: the new library tries every file anyway; a rebuild resumed
    # after a kill also retries the files that failed in its unfinished part.
    config = IngestConfig(retry_failed=args.retry_failed)
    if args.features and args.rebuild:
        raise UsageError("--features adds precomputed features; it cannot --rebuild (re-index from videos)")
    if args.shots:
        from chronolens.tasks.shots import get_detector

        get_detector(args.shots)  # a typo fails before any indexing
        if args.features and args.shots != "embedding":
            raise UsageError("--features has no frames to decode: use --shots embedding")
    if args.features and args.speech:
        raise UsageError(
            "--features adds precomputed features: there is no audio to transcribe (drop --speech)"
        )
    if args.speech_language and not args.speech:
        raise UsageError("--speech-language is the language of --speech: name --speech too")
    speech = _speech_backend(args.speech)  # a typo or a missing model fails before any indexing
    shots_report = None
    speech_report = None
    try:
        if args.features:
            from chronolens.ingest.features import index_features

            with chronolens.Library.open(root, model=model, sampling=sampling) as library:
                report = index_features(library, args.paths, step=args.feature_step, progress=not args.quiet)
                shots_report = _index_shots(library, args.shots, progress=not args.quiet)
        elif args.rebuild and exists:
            report = rebuild(
                root, model=model, sampling=sampling, paths=args.paths, config=config, progress=not args.quiet
            )
            if args.shots:
                with chronolens.Library.open(root) as library:
                    shots_report = _index_shots(library, args.shots, progress=not args.quiet)
        else:
            with chronolens.Library.open(root, model=model, sampling=sampling) as library:
                report = chronolens.index(
                    library, args.paths, config=config, progress=not args.quiet, ray=ray
                )
                shots_report = _index_shots(library, args.shots, progress=not args.quiet)
    except OSError as exc:  # e.g. the disk filled up while writing embeddings
        _remove_new_library(where, created, exists, before)
        raise LibraryError(f"cannot write library {root.absolute()}: {exc.strerror or exc}") from exc
    except BaseException:
        _remove_new_library(where, created, exists, before)
        raise
    kept = exists or bool(report.indexed)  # a new library that indexed nothing is not left behind
    if not kept:
        _remove_new_library(where, created, exists, before)
    elif speech is not None:
        # After the visual index is safe: an interrupted speech pass keeps the library (and every
        # transcript committed so far) instead of removing a new library as a failed index does.
        with chronolens.Library.open(root) as library:
            speech_report = _index_speech(
                library, speech, language=args.speech_language, progress=not args.quiet
            )
    nothing = bool(args.paths) and _nothing_found(report)
    all_failed = bool(report.failed) and not report.indexed and not report.unchanged
    status = 1 if all_failed or nothing else 0
    if args.json:
        out = report.to_json()
        if shots_report is not None:
            out["shots"] = shots_report.to_json()
        if speech_report is not None:
            out["speech"] = speech_report.to_json()
        print(json.dumps(out))
        return status
    if nothing:
        _print_entries(report, verbose=args.verbose > 0)
        raise ChronolensError(_not_found_message(args.paths, report))
    hint = " (-v lists the non-video files)" if report.non_video and not args.verbose else ""
    print(
        f"indexed {len(report.indexed)}, unchanged {len(report.unchanged)}, failed {len(report.failed)}, "
        f"missing {len(report.missing)}{', partial ' + str(len(report.partial)) if report.partial else ''}"
        f"{_skipped_summary(report)} ({report.n_frames} frames, {report.seconds:.1f} s) "
        + (f"-> {root.absolute()}" if kept else f"(no library was created at {root.absolute()})")
        + (" (see `chronolens info --videos --failed`)" if report.failed and kept else "")
        + hint
    )
    _print_entries(report, verbose=args.verbose > 0)
    if shots_report is not None:
        print(
            f"shots ({shots_report.detector}): stored {len(shots_report.stored)}, unchanged "
            f"{len(shots_report.unchanged)}, failed {len(shots_report.failed)} ({shots_report.n_shots} shots)"
        )
        for path, error in shots_report.failed.items():
            print(f"  shots failed: {path}: {error}", file=sys.stderr)
    if speech_report is not None:
        _print_speech(speech_report)
    return status


def _ray_config(args: argparse.Namespace) -> RayConfig | None:
    """The Ray settings ``--ray [ADDRESS]`` asks for (``None``: index in this process).

    Raises:
        UsageError: ``--ray`` with ``--features`` / ``--rebuild``, or ``--ray`` that swallowed the
            only PATH as its address.
        MissingDependencyError: Ray is not installed (checked before the library is touched).
    """
    if args.ray is None:
        return None
    from chronolens.errors import UsageError
    from chronolens.ingest.ray_pipeline import RayConfig, import_ray

    if args.features:
        raise UsageError("--features adds precomputed features without decoding; --ray has nothing to run")
    if args.rebuild:
        raise UsageError("--rebuild runs in this process; drop --ray (a rebuild on Ray is not supported yet)")
    if args.ray and Path(args.ray).exists():
        raise UsageError(
            f"--ray took {args.ray!r} as its cluster address; put the PATHs before --ray, "
            "or write --ray=ADDRESS"
        )
    import_ray()
    return RayConfig(address=args.ray or None)


def _index_shots(library: Library, detector: str | None, *, progress: bool) -> ShotsReport | None:
    """The ``--shots`` pass after indexing: every indexed video lacking current shots (None: not asked)."""
    if not detector:
        return None
    from chronolens.ingest.shots import index_shots
    from chronolens.tasks.shots import get_detector

    return index_shots(library, detector=get_detector(detector), progress=progress)


def _speech_backend(name: str | None) -> tuple[str, SpeechBackend | None] | None:
    """``(name, backend)`` of ``--speech NAME`` (backend None for subtitles); None when not asked."""
    if not name:
        return None
    if name == SUBTITLES_BACKEND:
        return name, None
    from chronolens.speech import load_speech

    return name, load_speech(name)


def _index_speech(
    library: Library,
    speech: tuple[str, SpeechBackend | None] | None,
    *,
    language: str | None,
    progress: bool,
) -> SpeechReport | None:
    """The ``--speech`` pass after indexing: every indexed video lacking a current transcript."""
    if speech is None:
        return None
    from chronolens.ingest.speech import index_speech

    return index_speech(library, speech[1], language=language, progress=progress)


def _print_speech(report: SpeechReport) -> None:
    """The speech pass's summary line, and one stderr line per video whose audio failed."""
    print(
        f"speech ({report.model}): transcribed {len(report.transcribed)}, no audio {len(report.no_audio)}, "
        f"unchanged {len(report.unchanged)}, failed {len(report.failed)} "
        f"({report.n_segments} segments, {report.seconds:.1f} s of audio)"
    )
    for path, error in report.failed.items():
        print(f"  speech failed: {path}: {error}", file=sys.stderr)


def _print_entries(report: IngestReport, *, verbose: bool) -> None:
    """One stderr line per failed, partial and skipped entry (non-video files only with -v)."""
    for path, error in report.failed.items():
        print(f"  failed: {path}: {error}", file=sys.stderr)
    for path, warning in report.partial.items():
        print(f"  partial: {path}: {warning}", file=sys.stderr)
    for path, reason in report.skipped.items():
        print(f"  skipped: {path}: {reason}", file=sys.stderr)
    if verbose:
        for path, reason in report.non_video.items():
            print(f"  skipped: {path}: {reason}", file=sys.stderr)
