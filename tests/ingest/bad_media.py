"""Builders for the bad and odd entries a folder of videos can hold (shared by the ingest tests)."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
from tests.media import index_color, solid_frames

from chronolens.video.writer import write_video

__all__ = ["faststart_mp4", "png_named_mp4", "truncated_faststart_mp4"]


def faststart_mp4(path: Path, *, n_frames: int = 6, fps: int = 1) -> Path:
    """A tiny H.264 mp4 with its index (moov) before the data (``movflags=faststart``)."""
    frames = list(solid_frames([index_color(i * 40) for i in range(n_frames)], (48, 64)))
    plain = write_video(path.with_name(f".{path.stem}.plain.mp4"), frames, fps=fps, codec="libx264")
    with av.open(str(plain)) as src, av.open(str(path), "w", options={"movflags": "faststart"}) as dst:
        stream = src.streams.video[0]
        out = dst.add_stream_from_template(stream)
        for packet in src.demux(stream):
            if packet.dts is None:
                continue  # the demuxer's final flush packet
            packet.stream = out
            dst.mux(packet)
    plain.unlink()
    return path


def packet_offsets(path: Path) -> list[int]:
    """Byte offsets of the video packets of ``path``, in decode order."""
    with av.open(str(path)) as container:
        return [p.pos for p in container.demux(container.streams.video[0]) if p.size]


def truncated_faststart_mp4(path: Path, *, keep_frames: int = 3, n_frames: int = 6) -> Path:
    """A faststart mp4 of ``n_frames`` cut just before packet ``keep_frames``: the header still says
    ``n_frames`` seconds, only ``keep_frames`` frames decode."""
    full = faststart_mp4(path, n_frames=n_frames)
    data = full.read_bytes()
    path.write_bytes(data[: packet_offsets(full)[keep_frames]])
    return path


def png_named_mp4(path: Path) -> Path:
    """A PNG image saved under a video name (FFmpeg opens it as a 1-frame, 0-second stream)."""
    from PIL import Image

    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:] = index_color(7)
    tmp = path.with_name(f".{path.stem}.png")
    Image.fromarray(frame).save(tmp)
    os.replace(tmp, path)
    return path


def bad_corpus(root: Path, rng: np.random.Generator, *, good: Path) -> list[Path]:
    """Write the bad and odd entries ``index`` must survive into ``root``; return them.

    Args:
        root: a directory to fill (created).
        rng: the random source (seed it: the corpus is then the same every run).
        good: a small good video whose bytes are cut and damaged for some entries.
    """
    root.mkdir(parents=True, exist_ok=True)
    entries: list[Path] = []

    def add(path: Path) -> None:
        entries.append(path)

    plain = good.read_bytes()
    fast = faststart_mp4(root / ".fast-source.mp4", n_frames=6).read_bytes()
    (root / ".fast-source.mp4").unlink()
    for i, source in enumerate((plain, fast, plain, fast)):
        cut = int(rng.integers(1, len(source)))  # anywhere: inside the header, the index or the data
        (root / f"cut{i}{good.suffix if source is plain else '.mp4'}").write_bytes(source[:cut])
        add(root / f"cut{i}{good.suffix if source is plain else '.mp4'}")
    add(truncated_faststart_mp4(root / "half.mp4"))
    flipped = bytearray(plain)
    for offset in rng.integers(0, len(plain), 20):
        flipped[int(offset)] ^= int(rng.integers(1, 256))
    (root / f"flipped{good.suffix}").write_bytes(bytes(flipped))
    add(root / f"flipped{good.suffix}")
    for name in ("random.mp4", "random.mkv", "random.avi"):
        (root / name).write_bytes(rng.integers(0, 256, int(rng.integers(1, 20_000)), np.uint8).tobytes())
        add(root / name)
    (root / "empty.mp4").write_bytes(b"")
    add(root / "empty.mp4")
    (root / "one-byte.mkv").write_bytes(b"\x1a")
    add(root / "one-byte.mkv")
    add(png_named_mp4(root / "image.mp4"))
    (root / "notes.mkv").write_text("this is a text file, not a video\n" * 20)
    add(root / "notes.mkv")
    (root / "dangling.mp4").symlink_to(root / "nowhere" / "x.mp4")
    add(root / "dangling.mp4")
    (root / "loop.mp4").symlink_to(root / "loop.mp4")
    add(root / "loop.mp4")
    (root / "dirloop").symlink_to(root, target_is_directory=True)
    add(root / "dirloop")
    os.mkfifo(root / "pipe.mp4")
    add(root / "pipe.mp4")
    (root / "folder.mp4").mkdir()
    (root / "folder.mp4" / "inner.mkv").write_bytes(plain[: len(plain) // 3])
    add(root / "folder.mp4")
    if os.geteuid() != 0:  # root reads anything: chmod 000 would not make it unreadable
        (root / "locked.mp4").write_bytes(plain)
        (root / "locked.mp4").chmod(0)
        add(root / "locked.mp4")
    return entries
