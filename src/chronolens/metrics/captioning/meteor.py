"""METEOR 1.5 through the official jar, as pycocoevalcap 1.2 runs it (optional, needs Java).

The jar is started as ``java -jar -Xmx2G meteor-1.5.jar - - -stdio -l en -norm`` in the jar's
directory (it loads ``data/paraphrase-en.gz`` from there). Each id is sent as
``SCORE ||| ref_1 ||| ... ||| ref_k ||| hyp`` (``|||`` removed from the hypothesis and double
spaces collapsed once, as pycocoevalcap does) and answered by one statistics line; the
statistics of all ids are then sent in one ``EVAL ||| stats_1 ||| ...`` line, answered by one
score per id and the corpus score. That is exactly pycocoevalcap's ``Meteor.compute_score``:
one EVAL per call, covering all its ids.

Starting the jar costs 30-45 s (it loads a 60 MB paraphrase table), so, like pycocoevalcap's
``Meteor`` object, a :class:`MeteorScorer` keeps one process alive and scores any number of
calls over it. The only difference on the wire is that a call's SCORE lines are written in one
go and their answers read afterwards (pipelined) instead of one round trip each; the jar answers
every line independently and in order, so the scores are identical.

An empty hypothesis (``''``, or one that is empty once ``|||`` is removed) is sent as it is, as
pycocoevalcap sends it: the line ends in ``||| `` and the jar answers it like any other, with
statistics that score that id 0.0 while its reference lengths still count in the corpus score.
On the three-id corpus of ``tests/metrics/captioning/test_meteor_empty_hypothesis.py`` with one
``''`` hypothesis, pycocoevalcap 1.2 and this module both give per id 0.8909, 0.0, 0.7372 and
corpus 0.5229 (0.8375 without that id). Earlier versions of this module refused such corpora
(claiming the jar hangs on them; the jar does not); the reference scores them, so this one does.

METEOR is never a hard dependency: when ``java`` is not on PATH or no jar is found,
:func:`get_meteor_scorer` and :func:`meteor` return None and :func:`meteor_unavailable_reason`
says why. The jar is looked up in ``$CHRONOLENS_METEOR_JAR`` and then in an installed
``pycocoevalcap`` package, which ships it with its ``data/`` directory:
``pip install 'chronolens[meteor]'`` installs it (Java itself is not a Python package).
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import importlib.util
import logging
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from chronolens.errors import ChronolensError, MissingDependencyError
from chronolens.metrics.captioning.ngrams import check_inputs

__all__ = [
    "METEOR_EXTRA",
    "METEOR_JAR_ENV",
    "METEOR_STARTUP_TIMEOUT_S",
    "METEOR_TIMEOUT_S",
    "MeteorScorer",
    "find_meteor_jar",
    "get_meteor_scorer",
    "meteor",
    "meteor_command",
    "meteor_unavailable_reason",
]

logger = logging.getLogger(__name__)

METEOR_JAR_ENV = "CHRONOLENS_METEOR_JAR"  # environment variable naming the meteor-1.5.jar to use
METEOR_TIMEOUT_S = 120.0  # longest wait for one answer line of a running jar
METEOR_STARTUP_TIMEOUT_S = 300.0  # extra wait for the first answer of a new jar (loads a 60 MB table)
METEOR_JAVA_HEAP = "-Xmx2G"  # JVM heap, pycocoevalcap's setting
METEOR_STDERR_LINES = 20  # last stderr lines of the jar kept for error messages
METEOR_RESTARTS = 1  # a call whose process died is retried this many times on a fresh process
_JAR_NAME = "meteor-1.5.jar"
METEOR_EXTRA = "meteor"  # the chronolens extra that installs pycocoevalcap (and so the jar)
_INSTALL_HINT = f"set {METEOR_JAR_ENV} or pip install 'chronolens[{METEOR_EXTRA}]'"
_JAVA_HINT = "install Java 8 or later"  # what pycocoevalcap asks for
_READER_JOIN_S = 5.0  # wait for the reader threads of a killed process to see end of file
_END_OF_STREAM = b""  # put on the answer queue when the jar's stdout closes


def find_meteor_jar() -> Path | None:
    """Locate the METEOR 1.5 jar: ``$CHRONOLENS_METEOR_JAR``, then an installed pycocoevalcap.

    Returns:
        The jar path, or None when none is found.
    """
    configured = os.environ.get(METEOR_JAR_ENV)
    if configured:
        path = Path(configured)
        if path.is_file():
            return path
        logger.warning("%s=%s is not a file; looking elsewhere", METEOR_JAR_ENV, configured)
    spec = importlib.util.find_spec("pycocoevalcap")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "meteor" / _JAR_NAME
            if candidate.is_file():
                return candidate
    return None


def meteor_unavailable_reason() -> str | None:
    """Why METEOR cannot run here and how to get it (one line), or None when it can.

    It names only what is missing: Java, the jar, or both.
    """
    jar = find_meteor_jar()
    if shutil.which("java") is None and jar is None:
        return f"METEOR skipped: java not found on PATH, nor {_JAR_NAME} ({_JAVA_HINT}; {_INSTALL_HINT})"
    if shutil.which("java") is None:
        return f"METEOR skipped: java not found on PATH ({_JAVA_HINT})"
    if jar is None:
        return f"METEOR skipped: {_JAR_NAME} not found ({_INSTALL_HINT})"
    return None


def meteor_command(java: str | Path, jar: str | Path) -> list[str]:
    """The command line pycocoevalcap starts the jar with (to be run in the jar's directory).

    Args:
        java: the ``java`` executable.
        jar: the ``meteor-1.5.jar`` path.

    Returns:
        The argument list for :class:`MeteorScorer`.
    """
    return [str(java), "-jar", METEOR_JAVA_HEAP, str(jar), "-", "-", "-stdio", "-l", "en", "-norm"]


def _score_line(references: Sequence[str], hypothesis: str) -> str:
    """pycocoevalcap's ``_stat`` request line for one id."""
    hypothesis = hypothesis.replace("|||", "").replace("  ", " ")
    return " ||| ".join(("SCORE", " ||| ".join(references), hypothesis))


class _JarDiedError(ChronolensError):
    """The jar exited or closed its pipes while a request was in flight (worth one restart)."""


class _JarProcess:
    """One running jar: stdin writes, a reader thread queueing stdout lines, stderr tail kept."""

    def __init__(self, command: Sequence[str], cwd: Path | None) -> None:
        self.process = subprocess.Popen(
            list(command),
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.answered = False  # whether any answer came back yet (the first one waits for startup)
        self.owner_pid = os.getpid()  # a forked child must not talk over its parent's pipes
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=METEOR_STDERR_LINES)
        name = f"meteor-{self.process.pid}"
        self._readers = [
            threading.Thread(target=self._read_stdout, name=f"{name}-stdout", daemon=True),
            # stderr is drained too: a full, unread stderr pipe would block the jar.
            threading.Thread(target=self._read_stderr, name=f"{name}-stderr", daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(_END_OF_STREAM)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line.decode("utf-8", errors="replace").rstrip())

    def alive(self) -> bool:
        return self.process.poll() is None

    def _died(self) -> _JarDiedError:
        code = self.process.wait()
        last = next((line for line in reversed(self._stderr) if line.strip()), "")
        detail = f": {last}" if last else ""
        return _JarDiedError(f"METEOR jar (pid {self.process.pid}) exited with code {code}{detail}")

    def send(self, lines: Sequence[str]) -> None:
        """Write request lines (one flush for all of them)."""
        assert self.process.stdin is not None
        payload = "".join(line + "\n" for line in lines).encode("utf-8")
        try:
            self.process.stdin.write(payload)
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            raise self._died() from None

    def receive(self, count: int, timeout_s: float, startup_timeout_s: float) -> list[str]:
        """Read the next ``count`` answer lines, each within ``timeout_s``."""
        out: list[str] = []
        for _ in range(count):
            wait = timeout_s if self.answered else timeout_s + startup_timeout_s
            try:
                raw = self._lines.get(timeout=wait)
            except queue.Empty:
                raise ChronolensError(
                    f"METEOR jar (pid {self.process.pid}) gave no answer within {wait:.0f} s"
                ) from None
            if raw == _END_OF_STREAM:
                raise self._died()
            self.answered = True
            out.append(raw.decode("utf-8").strip())
        return out

    def close(self) -> None:
        if self.owner_pid != os.getpid():
            return  # a forked child (e.g. at its atexit) must not kill its parent's jar
        if self.process.stdin is not None:
            with contextlib.suppress(OSError, ValueError):
                self.process.stdin.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for reader in self._readers:
            reader.join(timeout=_READER_JOIN_S)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError, ValueError):
                    pipe.close()


class MeteorScorer:
    """A long-lived METEOR 1.5 jar that scores many ``(gts, res)`` groups (pycocoevalcap ``Meteor``).

    The process starts on first use (or :meth:`start`), serves every later call, and is killed by
    :meth:`close` (or leaving the ``with`` block). Calls are serialised by a lock, so one scorer
    may be shared between threads. A call that finds the process dead, or loses it mid-request,
    starts a fresh one and retries once; a jar that stops answering is killed and the call
    raises (the next call starts a fresh process).

    Args:
        command: the command that starts a jar speaking the ``-stdio`` line protocol, normally
            :func:`meteor_command`; injectable so tests can run a stand-in.
        cwd: working directory of the process (the jar's directory, where its ``data/`` lives).
        timeout_s: longest wait for any single answer line.
        startup_timeout_s: extra wait allowed for the first answer of a new process.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        cwd: str | Path | None = None,
        timeout_s: float = METEOR_TIMEOUT_S,
        startup_timeout_s: float = METEOR_STARTUP_TIMEOUT_S,
    ) -> None:
        if not command:
            raise ValueError("command: must name the program to start")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s: must be > 0, got {timeout_s}")
        if startup_timeout_s < 0:
            raise ValueError(f"startup_timeout_s: must be >= 0, got {startup_timeout_s}")
        self.command = tuple(str(part) for part in command)
        self.cwd = None if cwd is None else Path(cwd)
        self.timeout_s = timeout_s
        self.startup_timeout_s = startup_timeout_s
        self.starts = 0  # processes started so far (1 plus restarts)
        self.calls = 0  # score() calls answered
        self._process: _JarProcess | None = None
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def for_jar(cls, jar: str | Path | None = None, *, timeout_s: float = METEOR_TIMEOUT_S) -> MeteorScorer:
        """A scorer for the official jar (``find_meteor_jar()`` by default) run by ``java`` on PATH.

        Raises:
            ChronolensError: when java is not on PATH or ``jar`` is not a file.
            MissingDependencyError: when no jar is given and none is found (names the extra).
        """
        java = shutil.which("java")
        if java is None:
            raise ChronolensError("METEOR unavailable: java not found on PATH")
        path = Path(jar) if jar is not None else find_meteor_jar()
        if path is None:
            raise MissingDependencyError(f"METEOR unavailable: {_JAR_NAME} not found ({_INSTALL_HINT})")
        if not path.is_file():
            raise ChronolensError(f"METEOR unavailable: {path} is not a file")
        path = path.resolve()
        return cls(meteor_command(java, path), cwd=path.parent, timeout_s=timeout_s)

    @property
    def pid(self) -> int | None:
        """Process id of the running jar, or None when none is running."""
        process = self._process
        return process.process.pid if process is not None and process.alive() else None

    def start(self) -> MeteorScorer:
        """Start the process now unless one is running (otherwise the first call starts it)."""
        with self._lock:
            self._ensure_process()
        return self

    def _ensure_process(self) -> _JarProcess:
        if self._closed:
            raise ChronolensError("METEOR scorer is closed")
        if self._process is not None and self._process.owner_pid != os.getpid():
            # Inherited through fork: the pipes and reader threads belong to the parent.
            logger.info("METEOR scorer used in a forked child; starting a process of its own")
            self._process = None
        if self._process is not None and not self._process.alive():
            logger.warning("METEOR jar (pid %d) has died; starting a new one", self._process.process.pid)
            self._process.close()
            self._process = None
        if self._process is None:
            try:
                self._process = _JarProcess(self.command, self.cwd)
            except OSError as error:
                raise ChronolensError(f"cannot start METEOR ({self.command[0]}): {error}") from None
            self.starts += 1
            logger.info("started METEOR scorer (pid %d)", self._process.process.pid)
        return self._process

    def _kill(self) -> None:
        if self._process is not None:
            self._process.close()
            self._process = None

    def score(
        self,
        gts: Mapping[str, Sequence[str]],
        res: Mapping[str, Sequence[str]],
        *,
        timeout_s: float | None = None,
    ) -> tuple[float, list[float]]:
        """Corpus and per-id METEOR of one group, as pycocoevalcap's ``Meteor.compute_score``.

        Args:
            gts: id -> tokenised reference captions (at least one id).
            res: id -> a one-element list holding the tokenised hypothesis; same ids as ``gts``.
                A hypothesis may be empty: that id scores 0.0, as in pycocoevalcap.
            timeout_s: longest wait for one answer line; the scorer's ``timeout_s`` by default.

        Returns:
            ``(corpus, per_id)`` with ``per_id`` ordered as the keys of ``gts``.

        Raises:
            ValueError: when the inputs break the scorer contract (or there are no ids).
            ChronolensError: when the jar cannot be started, dies twice, stops answering, or
                answers something that is not a number.
        """
        check_inputs(gts, res)
        if not gts:
            raise ValueError("gts: METEOR needs at least one id")
        requests = [_score_line(refs, res[key][0]) for key, refs in gts.items()]
        wait = self.timeout_s if timeout_s is None else timeout_s
        with self._lock:
            for attempt in range(METEOR_RESTARTS + 1):
                process = self._ensure_process()
                try:
                    answers = self._exchange(process, requests, wait)
                except _JarDiedError as error:
                    self._kill()
                    if attempt == METEOR_RESTARTS:
                        raise ChronolensError(f"{error} (after {attempt} restart(s))") from None
                    logger.warning("%s; restarting it and retrying the call", error)
                    continue
                except ChronolensError:
                    self._kill()  # a hung or confused jar must not serve the next call
                    raise
                self.calls += 1
                return answers
        raise AssertionError("unreachable")  # the loop returns or raises

    def _exchange(
        self, process: _JarProcess, requests: list[str], timeout_s: float
    ) -> tuple[float, list[float]]:
        """SCORE lines (pipelined), then one EVAL line over all their statistics."""
        process.send(requests)
        stats = process.receive(len(requests), timeout_s, self.startup_timeout_s)
        process.send([" ||| ".join(["EVAL", *stats])])
        answers = process.receive(len(stats) + 1, timeout_s, self.startup_timeout_s)
        try:
            values = [float(answer) for answer in answers]
        except ValueError:
            raise ChronolensError(f"METEOR jar answered {answers[:3]!r}..., expected scores") from None
        return values[-1], values[:-1]

    def close(self) -> None:
        """Kill the process; later calls raise. Safe to call more than once."""
        with self._lock:
            self._closed = True
            self._kill()

    def __enter__(self) -> MeteorScorer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MeteorScorer(command={list(self.command)!r}, pid={self.pid}, starts={self.starts})"


_shared: MeteorScorer | None = None
_shared_lock = threading.Lock()


def _close_shared() -> None:
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None


atexit.register(_close_shared)  # never leave a 2 GB JVM behind the interpreter


def get_meteor_scorer() -> MeteorScorer | None:
    """The process-wide shared scorer for the official jar, created on first use.

    Its process starts at the first call it scores and then serves every caller until the
    interpreter exits (an ``atexit`` hook kills it). When ``$CHRONOLENS_METEOR_JAR`` or PATH
    change to another jar or java, the old process is closed and a new scorer is made.

    Returns:
        The shared scorer, or None when java or the jar is unavailable
        (:func:`meteor_unavailable_reason` says which).
    """
    global _shared
    java = shutil.which("java")
    jar = find_meteor_jar()
    if java is None or jar is None:
        return None
    jar = jar.resolve()
    command = tuple(meteor_command(java, jar))
    with _shared_lock:
        if _shared is not None and _shared.command != command:
            logger.info("METEOR jar or java changed; closing the shared scorer")
            _shared.close()
            _shared = None
        if _shared is None:
            _shared = MeteorScorer(command, cwd=jar.parent)
        return _shared


def meteor(
    gts: Mapping[str, Sequence[str]],
    res: Mapping[str, Sequence[str]],
    *,
    timeout_s: float = METEOR_TIMEOUT_S,
) -> tuple[float, list[float]] | None:
    """Corpus and per-id METEOR 1.5 from the official jar (pycocoevalcap parity).

    Scored by the shared :func:`get_meteor_scorer`, so only the first call pays the jar's
    startup.

    Args:
        gts: id -> tokenised reference captions.
        res: id -> a one-element list holding the tokenised hypothesis; same ids as ``gts``.
            An empty hypothesis scores 0.0 and still counts in the corpus score (pycocoevalcap).
        timeout_s: longest wait for any single answer of the jar.

    Returns:
        ``(corpus, per_id)`` with ``per_id`` ordered as the keys of ``gts``, or None when Java or
        the jar is unavailable (see ``meteor_unavailable_reason``).

    Raises:
        ValueError: when the inputs break the scorer contract.
        ChronolensError: when the jar starts but fails or stops answering.
    """
    check_inputs(gts, res)
    scorer = get_meteor_scorer()
    if scorer is None:
        logger.info("%s", meteor_unavailable_reason())
        return None
    return scorer.score(gts, res, timeout_s=timeout_s)
