"""The TFVTG grounder's best candidates, found exactly without scoring all ``T x |grid|`` of them.

A candidate is a (length group ``b``, transition ``k``) pair: static phase ``[k, k + n_b)``, index
``offsets[b] + k`` in :class:`~chronolens.tasks.ground.tfvtg.Proposals` order. Its score is the
one :func:`~chronolens.tasks.ground.tfvtg.propose` computes, with the same floating-point
operations in the same order (so the values are bit-identical; ``tests/tasks`` compare them), for
a static phase contrasted with the whole video (``context_seconds=None``):

    score = (dynamic[k] + F_b(inside)) + prior_b,   inside = prefix[k + n_b] - prefix[k]

where ``F_b`` (mean inside minus the reference, times the size weight) is non-decreasing in
``inside``, and stays so when evaluated in floating point (every step is a correctly rounded
monotone operation). So an upper bound of ``inside`` over a block of ``BLOCK`` transitions gives an
upper bound of every score in the block, and NMS's "every candidate scoring at least the c-th
best" (:func:`~chronolens.tasks.ground.nms.nms_over_chunks`) needs exact scores only in blocks
whose bound reaches the c-th best score: the blocks are scored best bound first until every
unscored block's bound is below the c-th best score found.

Bounds of ``inside`` over a block, both rigorous for the stored floats (the slack terms cover
every rounding, with a wide safety factor; see :meth:`TopCandidates._bounds`):

- detrended prefix: ``prefix[i] - i * a`` (``a`` the curve's mean) barely drifts, so
  ``max(prefix[k + n] - (k + n) a) - min(prefix[k] - k a) + n a`` over the block is tight for
  long windows;
- the largest step: ``n * max(prefix[i + 1] - prefix[i])`` over the samples the block's windows
  cover, tight for short ones (used up to ``n = BLOCK + 1``).

Short curves (``FULL_SCORE_MAX`` candidates or fewer) are scored in full: bounds cost more there.
"""

from __future__ import annotations

import math

import numpy as np

from chronolens.tasks.ground.nms import Chunk, nms_over_chunks

__all__ = ["BLOCK", "FIRST_BLOCKS", "FULL_SCORE_MAX", "TopCandidates", "kth_largest"]

BLOCK = 16  # transitions per bound block
FULL_SCORE_MAX = 40_000  # candidates up to which every score is computed (bounds cost more)
FIRST_BLOCKS = 0.5  # blocks scored first, per candidate NMS asks for (then 4x per round)
_BOUND_COLUMNS = 4096  # blocks per row bounded at once
_U = 2.0**-53  # unit roundoff of float64
_SLACK = 64 * _U  # rounding slack of a bound per unit of magnitude (needed: < 16; see _bounds)


def kth_largest(values: np.ndarray, k: int) -> float:
    """The ``k``-th largest of ``values`` (N,), ``1 <= k <= N`` (what ``np.partition`` gives).

    Selection costs far more per element than a comparison, so on large inputs the values are
    first cut at the k-th largest of ``2k`` disjoint block maxima: those are ``2k`` of the values,
    so at most the k-th largest, and nothing at or above the answer is cut.
    """
    n = values.size
    if n >= 8 * k:
        width = n // (2 * k)
        maxima = values[: 2 * k * width].reshape(2 * k, width).max(axis=1)  # (2k,)
        values = values[values >= np.partition(maxima, k)[k]]
        n = values.size
    return float(np.partition(values, n - k)[n - k])


class TopCandidates:
    """Exact scores of one curve's candidates, and the best ones without scoring them all.

    Args:
        prefix: (T + 1,) ``[0, cumsum(similarity)]``, as ``propose`` builds it.
        lengths: (B,) static lengths in samples, increasing, each <= T.
        dynamic: (T,) ``dynamic_weight * (g - g[rise_start])``, or a float when it is that
            product for a zero weight (the same signed zero for every sample).
        ambient: the reference level (``median`` reference), or ``None`` for the mean outside.
        weights: (B,) size weight of each group's contrast (1.0: none).
        priors: (B,) ``length_prior * n / T`` of each group.
    """

    def __init__(
        self,
        prefix: np.ndarray,
        lengths: np.ndarray,
        dynamic: np.ndarray | float,
        ambient: float | None,
        weights: np.ndarray,
        priors: np.ndarray,
    ) -> None:
        self.prefix = prefix
        self.t = prefix.shape[0] - 1
        self.lengths = lengths  # (B,) int64
        self.n_f = lengths.astype(np.float64)  # (B,)
        self.out_f = (self.t - lengths).astype(np.float64)  # (B,) samples outside the window
        self.sizes = self.t - lengths + 1  # (B,) transitions per group
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)  # (B + 1,)
        self.n = int(self.offsets[-1])
        self.dynamic = dynamic
        self.ambient = ambient
        self.weights = weights
        self.weighted = bool((weights != 1.0).any())
        self.priors = priors
        self.total = prefix[-1]
        self._full: np.ndarray | None = None  # (N,) every score, once computed
        self._bound: np.ndarray | None = None  # (B * nb,) block bounds, once computed

    def _finish(self, inside: np.ndarray, rows: np.ndarray, dyn: np.ndarray | float) -> np.ndarray:
        """``(dyn + F_b(inside)) + prior_b``, propose's operations, in place on ``inside`` (a
        temporary); ``rows`` indexes the groups and broadcasts against ``inside``."""
        if self.ambient is not None:
            inside /= self.n_f[rows]
            contrast = np.subtract(inside, self.ambient, out=inside)  # mean inside - ambient
        else:
            mean_in = inside / self.n_f[rows]
            out = self.out_f[rows]
            with np.errstate(divide="ignore", invalid="ignore"):
                outside = np.where(out > 0, (self.total - inside) / out, mean_in)
            contrast = np.subtract(mean_in, outside, out=mean_in)
        if self.weighted:
            contrast *= self.weights[rows]
        contrast += dyn  # dyn + contrast: addition commutes exactly
        contrast += self.priors[rows]
        return contrast

    def score(self, group: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Exact scores (n,) of candidates with groups ``group`` (n,) and transitions ``k`` (n,)."""
        inside = self.prefix[k + self.lengths[group]] - self.prefix[k]
        dyn = self.dynamic if isinstance(self.dynamic, float) else self.dynamic[k]
        return self._finish(inside, group, dyn)

    def decode(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Group and transition (each (n,) int64) of candidate indices ``idx`` (n,)."""
        group = np.searchsorted(self.offsets, idx, side="right") - 1
        return group, idx - self.offsets[group]

    def nms(
        self,
        sample_start: np.ndarray,
        sample_end: np.ndarray,
        starts: np.ndarray | None,
        duration: float,
        *,
        iou_threshold: float,
        max_keep: int,
    ) -> Chunk:
        """Greedy temporal NMS over the candidates' windows in seconds (``nms_over_chunks``).

        Args:
            sample_start: (T,) seconds each sample's interval starts (``sample_intervals``).
            sample_end: (T,) seconds each ends.
            starts: (T,) first sample of a window with transition ``k`` (the rise start), or
                ``None``: the window starts at the transition.
            duration: video duration in seconds (windows are clipped to ``[0, duration]``).
            iou_threshold: NMS IoU threshold.
            max_keep: windows kept at most.

        Returns:
            The kept candidates' indices (K,), scores (K,) and windows (K, 2), best first.
        """

        def select(chunk: int) -> Chunk:
            members, scores = self.top(chunk)
            group, transition = self.decode(members)
            start = transition if starts is None else starts[transition]
            ends = transition + self.lengths[group] - 1
            windows = np.stack([sample_start[start], sample_end[ends]], axis=1)  # (n, 2) seconds
            return members, scores, np.clip(windows, 0.0, duration, out=windows)

        return nms_over_chunks(select, self.n, iou_threshold=iou_threshold, max_keep=max_keep)

    def all_scores(self) -> np.ndarray:
        """(N,) every candidate's score, in candidate order (a (B, T) pass, rows masked)."""
        if self._full is None:
            t = self.t
            # prefix[k + n_b] for every k < T: row n_b of a sliding view of the prefix padded with
            # its last value (what clamping k + n_b to T read), gathered as whole rows (copies).
            padded = np.empty(t + int(self.lengths[-1]))
            padded[: t + 1] = self.prefix
            padded[t + 1 :] = self.total
            rows_view = np.lib.stride_tricks.as_strided(  # (n_max + 1, T) read-only view, no copy
                padded, shape=(padded.size - t + 1, t), strides=(padded.strides[0],) * 2, writeable=False
            )
            inside = rows_view[self.lengths]  # (B, T)
            inside -= self.prefix[:t]
            dyn = self.dynamic if isinstance(self.dynamic, float) else self.dynamic[None, :]
            rows = np.arange(self.lengths.size)[:, None]
            with np.errstate(invalid="ignore", over="ignore"):
                scores = self._finish(inside, rows, dyn)  # (B, T); k >= T - n_b + 1 is no candidate
            self._full = scores[np.arange(t)[None, :] < self.sizes[:, None]]  # row-major: candidate order
        return self._full

    def top(self, chunk: int) -> tuple[np.ndarray, np.ndarray]:
        """Every candidate scoring at least the ``chunk``-th best (ties included; all when
        ``chunk >= N``), as increasing indices (M,) and their scores (M,)."""
        if chunk >= self.n:
            return np.arange(self.n), self.all_scores()
        if self.n <= FULL_SCORE_MAX:
            s = self.all_scores()
            cut = kth_largest(s, chunk)
            members = np.flatnonzero(s >= cut)
            return members, s[members]
        return self._top_by_bounds(chunk)

    def _top_by_bounds(self, chunk: int) -> tuple[np.ndarray, np.ndarray]:
        """``top`` by scoring blocks best bound first until every other bound is below the cut."""
        bound = self._bounds()  # (B * nb,)
        scored = np.zeros(bound.size, dtype=bool)
        found_idx: list[np.ndarray] = []
        found_score: list[np.ndarray] = []
        scores = np.zeros(0)
        cut = -math.inf
        want = max(1, int(chunk * FIRST_BLOCKS))  # blocks scored in the first round
        ranked = self._likely_blocks(bound, want)
        while True:
            if ranked.size > want:  # the best `want` now; the others wait for a later round
                ranked = ranked[np.argpartition(-bound[ranked], want - 1)[:want]]
            found_idx.append(self._score_blocks(ranked, found_score))
            scored[ranked] = True
            scores = np.concatenate(found_score)
            found_score = [scores]
            if scores.size >= chunk:
                cut = kth_largest(scores, chunk)
            # Unscored blocks that may still hold a candidate >= cut (any, while cut is unknown).
            ranked = np.flatnonzero((bound >= cut) & ~scored & (bound > -math.inf))
            if ranked.size == 0:
                break
            want *= 4
        idx = np.concatenate(found_idx)
        keep = scores >= cut
        idx, member_scores = idx[keep], scores[keep]
        order = np.argsort(idx, kind="stable")
        return idx[order], member_scores[order]

    @staticmethod
    def _likely_blocks(bound: np.ndarray, want: int) -> np.ndarray:
        """About the ``want`` best-bounded blocks (a threshold estimated on a sample of bounds)."""
        sample = bound[:: max(1, bound.size // 8192)]
        rank = max(1, want * sample.size // bound.size)
        if rank >= sample.size:
            return np.flatnonzero(bound > -math.inf)
        threshold = np.partition(sample, sample.size - rank)[sample.size - rank]
        return np.flatnonzero(bound >= threshold)

    def _score_blocks(self, blocks: np.ndarray, found_score: list[np.ndarray]) -> np.ndarray:
        """Score every transition of ``blocks`` (flat group-block ids); append the scores to
        ``found_score`` and return the candidates' indices."""
        nb = -(-self.t // BLOCK)
        group = np.repeat(blocks // nb, BLOCK)  # (r * BLOCK,)
        k = np.repeat(blocks % nb, BLOCK) * BLOCK + np.tile(np.arange(BLOCK), blocks.size)
        valid = k < self.sizes[group]
        group, k = group[valid], k[valid]
        found_score.append(self.score(group, k))
        return self.offsets[group] + k

    def _bounds(self) -> np.ndarray:
        """(B * nb,) an upper bound of every score in each (group, block of transitions).

        Rounding (``u`` the unit roundoff, ``K = max|prefix| + T |a|``): the detrended prefix is
        off by at most ``2.01 u K`` per entry, computing the bound adds ``< 9.1 u K`` and rounding
        ``inside`` itself ``< 2 u K``; the step bound is off by ``< 2.1 u n max|step| + 2 u K``.
        The slack added (``64 u`` per unit of those magnitudes) covers them four times over.
        """
        if self._bound is None:
            with np.errstate(invalid="ignore", over="ignore"):
                self._bound = self._compute_bounds()
        return self._bound

    def _compute_bounds(self) -> np.ndarray:
        t, p = self.t, self.prefix
        nb = -(-t // BLOCK)  # blocks of transitions (k < T)
        a = float(self.total) / t
        pmax = float(np.abs(p).max())
        mag = pmax + t * abs(a)
        detrended = p - np.arange(t + 1) * a  # (T + 1,)
        span = (max(int(self.lengths[-1]) // BLOCK + 2, 2) + nb) * BLOCK
        pad = np.full(span, -math.inf)
        pad[: t + 1] = detrended
        hi_blocks = pad.reshape(-1, BLOCK).max(axis=1)  # block maxima of the detrended prefix
        pad[: t + 1] = -detrended
        pad[t + 1 :] = -math.inf
        lo_blocks = -pad.reshape(-1, BLOCK).max(axis=1)[:nb]  # (nb,) its block minima
        steps = np.diff(p)  # (T,)
        step_pad = np.full((nb + 1) * BLOCK, -math.inf)
        step_pad[:t] = steps
        step_blocks = step_pad.reshape(-1, BLOCK).max(axis=1)  # (nb + 1,)
        step_max = np.maximum(step_blocks[:nb], step_blocks[1:])  # (nb,) steps windows of n <= BLOCK + 1 use
        step_abs = float(np.abs(steps).max()) if t else 0.0
        if isinstance(self.dynamic, float):
            dyn: np.ndarray | float = self.dynamic
        else:
            dyn_pad = np.full(nb * BLOCK, -math.inf)
            dyn_pad[:t] = self.dynamic
            dyn = dyn_pad.reshape(nb, BLOCK).max(axis=1)  # (nb,)
        rows = np.arange(self.lengths.size)[:, None]  # (B, 1)
        shift = self.lengths // BLOCK  # (B,)
        ends = np.lib.stride_tricks.sliding_window_view(hi_blocks, nb)  # (., nb) view, no copy
        offset = (self.n_f * a + _SLACK * (mag + 1e-300))[:, None]  # (B, 1): n a + slack
        n_short = int(np.count_nonzero(self.lengths <= BLOCK + 1))  # the first rows (increasing n)
        short_n = self.n_f[:n_short, None]
        short_slack = _SLACK * (short_n * step_abs + pmax + 1e-300)
        out = np.empty((self.lengths.size, nb))
        for q0 in range(0, nb, _BOUND_COLUMNS):  # column chunks keep the temporaries in cache
            cols = slice(q0, min(nb, q0 + _BOUND_COLUMNS))
            # Row b, block q: the window ends k + n_b lie in block q + n_b // BLOCK and the next.
            bound = np.maximum(ends[shift, cols], ends[shift + 1, cols])  # (B, c)
            bound -= lo_blocks[cols]
            bound += offset
            if n_short:
                by_step = short_n * step_max[cols]
                by_step += short_slack
                np.minimum(bound[:n_short], by_step, out=bound[:n_short])
            out[:, cols] = self._finish(bound, rows, dyn if isinstance(dyn, float) else dyn[cols])
        for row, first_empty in enumerate((-(-self.sizes // BLOCK)).tolist()):
            out[row, first_empty:] = -math.inf  # blocks with no transition (any NaN was there)
        return out.reshape(-1)
