"""The temporal lifting network: one frame's 3D from the 2D of the frames around it (NumPy only).

Smoothness cannot fix a limb whose depth is wrong for a whole clip; what the
person did before and after can.  This network sees a window of a person's
normalised 2D poses around a frame and answers that frame's camera-frame 3D,
in the same units and with the same centring as the per-frame
:class:`~lift2d3d.learned.LiftingNetwork` (:meth:`TemporalNetwork.predict_sequence`).
It is trained from MoCap alone (``lift2d3d learn-lifter --temporal``,
:mod:`lift2d3d.learn_lifter.temporal`); the training library is never imported here.

**Time, not frames.**  The window is a row of *time bins* in seconds around
the frame's time ``t``: bin ``k`` holds the frames whose times lie in
``(t + edges[k], t + edges[k + 1]]`` (:attr:`TemporalNetwork.edges`; to
within :data:`TIME_TOLERANCE`, so that a frame on an edge always falls in the
earlier bin).  A
centred network's bins are symmetric about ``t``; a causal one's end at ``t``
(``edges[-1] == 0``), so its answer never waits for a later frame (live use).
Each bin carries, per joint, the mean of the frames' keypoints in which the
joint is seen and the fraction of the bin's usable frames that see it; so

* any frame rate works: 24, 25, 30 or 60 fps fill a bin with 2-6 frames
  whose mean is the same pose (the network is trained at several rates);
* a missing frame (a step in ``times``, or a frame without two usable
  joints: the same thing) leaves its bin with fewer frames, a missing joint
  lowers its fraction, a bin without frames is all zeros; a gap longer than
  the window splits a sequence, as nothing reaches across it.

**Inputs**, per frame (:func:`window_inputs`): first the frame's own
:func:`~lift2d3d.learned.encode_frames` row (its keypoints re-normalised over
the used joints, the used flags and the perspective row: exactly the per-frame
network's inputs), then per bin ``[mean u_x (P), mean u_y (P), fraction seen
(P)]`` of the neighbouring frames' rows (each frame in its own
normalisation: the caller's per-frame units carry no trajectory).  The
outputs and the skip connection are the per-frame network's
(:mod:`lift2d3d.learned.network`): the frame's 3D in its plain units, the
frame's own keypoints added to x and y.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..skeletons import Skeleton
from .network import MLPLayers, check_frames, encode_frames, keypoint_frames, n_inputs

__all__ = ["TemporalNetwork", "TEMPORAL_ENCODING", "bin_edges", "n_temporal_inputs", "window_prefix", "window_inputs",
           "check_times", "MAX_WINDOW_S", "MAX_BINS", "TIME_TOLERANCE"]

#: Name of the input convention above (a file records it; a different one is refused).
TEMPORAL_ENCODING = "frame-and-time-bins-xy-seen/1"

#: Widest reach of a window before or after its frame, seconds (a crafted file cannot ask for more).
MAX_WINDOW_S = 30.0

#: Most time bins a window may have.
MAX_BINS = 256

#: Times closer than this (seconds) are one time: a frame on a bin's edge (0.1 s bins at 30 fps put every edge on a
#: frame) belongs to the earlier bin whatever the rounding of ``t + edge``; frames must be further apart.
TIME_TOLERANCE = 1e-6

#: Frames per chunk of the window encoding (bounds the memory of the gathered bins).
_CHUNK = 4096


def n_temporal_inputs(n_joints: int, n_bins: int) -> int:
    """Inputs of a temporal network: the frame's own row (3P + 3) and 3P per time bin."""
    return n_inputs(n_joints) + 3 * n_joints * int(n_bins)


def bin_edges(n_bins: int, bin_s: float, causal: bool = False) -> np.ndarray:
    """Edges (n_bins + 1,) in seconds of ``n_bins`` bins of ``bin_s`` seconds: centred on the frame, or ending at it.

    >>> bin_edges(3, 0.1).round(3).tolist()
    [-0.15, -0.05, 0.05, 0.15]
    >>> bin_edges(3, 0.1, causal=True).round(3).tolist()
    [-0.3, -0.2, -0.1, 0.0]
    """
    n_bins = int(n_bins)
    if n_bins < 1 or not (np.isfinite(bin_s) and bin_s > 0):
        raise ValueError(f"a window needs at least one bin of positive width; got {n_bins} bins of {bin_s} s")
    k = np.arange(n_bins + 1, dtype=np.float64)
    return (k - n_bins) * bin_s if causal else (k - n_bins / 2.0) * bin_s


def check_times(times, n_frames: int) -> np.ndarray:
    """Frame times (n_frames,) as float64 seconds, checked finite and strictly increasing."""
    times = np.asarray(times, dtype=np.float64)
    if times.shape != (n_frames,):
        raise ValueError(f"times must hold one time per frame, shape ({n_frames},), in seconds; got {times.shape}")
    if not np.isfinite(times).all():
        raise ValueError("times must be finite (seconds)")
    if n_frames > 1 and not (np.diff(times) > 2 * TIME_TOLERANCE).all():
        raise ValueError("times must be strictly increasing, frames more than 2 microseconds apart (seconds; sort the "
                         "frames and drop repeated times)")
    return times


def window_prefix(frame_inputs: np.ndarray, n_joints: int) -> np.ndarray:
    """Running sums (N + 1, 3P + 1) over frames: the seen keypoints (x, y; 0 where unseen), the seen flags, and
    the usable frames (those :func:`~lift2d3d.learned.encode_frames` could encode: a frame without keypoints
    counts as no frame, like one missing from the sequence)."""
    P = n_joints
    values = np.zeros((len(frame_inputs), 3 * P + 1))
    values[:, :3 * P] = frame_inputs[:, :3 * P]
    values[:, 3 * P] = frame_inputs[:, 2 * P:3 * P].any(axis=1)
    prefix = np.zeros((len(values) + 1, 3 * P + 1))
    np.cumsum(values, axis=0, out=prefix[1:])
    return prefix


def window_inputs(frame_inputs: np.ndarray, prefix: np.ndarray, times: np.ndarray, edges: np.ndarray,
                  rows: np.ndarray) -> np.ndarray:
    """The temporal network's unstandardised inputs of the frames ``rows``.

    Parameters
    ----------
    frame_inputs : (N, 3P + 3) float
        :func:`~lift2d3d.learned.encode_frames` of the sequence (zeros for
        unusable frames).
    prefix : (N + 1, 3P + 1) float
        :func:`window_prefix` of ``frame_inputs``.
    times : (N,) float, seconds, strictly increasing
    edges : (n_bins + 1,) float, seconds
    rows : (n,) int
        The frames whose inputs are wanted.

    Returns
    -------
    (n, 3P + 3 + 3P n_bins) float32
    """
    P = (prefix.shape[1] - 1) // 3
    rows = np.asarray(rows)
    n, n_bins = len(rows), len(edges) - 1
    bounds = np.searchsorted(times, times[rows, None] + (edges[None, :] + TIME_TOLERANCE), side="right")
    # np.take is several times faster than fancy indexing here; the difference of running sums in float64
    # (exact counts), the rest in float32
    ends = np.take(prefix, bounds.ravel(), axis=0).reshape(n, n_bins + 1, 3 * P + 1)
    sums = (ends[:, 1:] - ends[:, :-1]).astype(np.float32)                                 # (n, n_bins, 3P + 1)
    frames = sums[:, :, 3 * P]                                                             # usable frames per bin
    sums = sums[:, :, :3 * P].reshape(n, n_bins, 3, P)
    seen = sums[:, :, 2]
    per_seen = np.zeros_like(seen)
    np.divide(1.0, seen, out=per_seen, where=seen > 0.5)
    per_frame = np.zeros_like(frames)
    np.divide(1.0, frames, out=per_frame, where=frames > 0.5)
    out = np.empty((n, n_temporal_inputs(P, n_bins)), dtype=np.float32)
    out[:, :n_inputs(P)] = frame_inputs[rows]
    bins = out[:, n_inputs(P):].reshape(n, n_bins, 3, P)
    np.multiply(sums[:, :, :2], per_seen[:, :, None], out=bins[:, :, :2])
    np.multiply(seen, per_frame[:, :, None], out=bins[:, :, 2])
    return out


@dataclass(frozen=True, eq=False)
class TemporalNetwork(MLPLayers):
    """A temporal lifting MLP over a skeleton: a window of time bins around a frame -> the frame's 3D.

    Build it with :func:`lift2d3d.learned.load_temporal_network` (a shipped
    name or a file) or from a training run
    (:class:`lift2d3d.learn_lifter.TemporalLifterLearner`).

    Parameters
    ----------
    weights : sequence of (n_in, n_out) float arrays
        One per layer, inputs first (stored as float32); ``n_in`` of the first
        is :func:`n_temporal_inputs`.
    biases : sequence of (n_out,) float arrays
    input_offset, input_scale : (n_in,) float
    output_offset, output_scale : (3P,) float
        Standardisation, as :class:`~lift2d3d.learned.LiftingNetwork`'s.
    skeleton : Skeleton or str
    edges : (n_bins + 1,) float, seconds
        The time bins relative to the frame (strictly increasing,
        ``edges[0] < 0 <= edges[-1]``; ``edges[-1] == 0``: causal).
    metadata : dict
        The model card (``bases/README.md``).

    Examples
    --------
    >>> from lift2d3d.learned import load_temporal_network
    >>> net = load_temporal_network("default")                # doctest: +SKIP
    >>> X = net.predict_sequence(W, w, times)                 # doctest: +SKIP
    """

    weights: tuple
    biases: tuple
    input_offset: np.ndarray
    input_scale: np.ndarray
    output_offset: np.ndarray
    output_scale: np.ndarray
    skeleton: Skeleton
    edges: np.ndarray
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        try:
            edges = np.array(self.edges, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"edges must be a list of times in seconds; got {self.edges!r}") from None
        if (edges.ndim != 1 or not 2 <= len(edges) <= MAX_BINS + 1 or not np.isfinite(edges).all()
                or not (np.diff(edges) > 0).all() or not edges[0] < 0 <= edges[-1]
                or max(-edges[0], edges[-1]) > MAX_WINDOW_S):
            raise ValueError(f"edges must be 2 to {MAX_BINS + 1} strictly increasing times in seconds, the first "
                             f"negative, the last >= 0, within {MAX_WINDOW_S:g} s of the frame; got "
                             f"{np.array2string(np.asarray(edges).ravel(), precision=3, threshold=12)}")
        edges.setflags(write=False)
        self._set_layers(lambda P: n_temporal_inputs(P, len(edges) - 1), edges=edges)

    # ------------------------------------------------------------------ description
    @property
    def n_bins(self) -> int:
        return len(self.edges) - 1

    @property
    def causal(self) -> bool:
        """The answer depends on no frame after the frame lifted (``edges[-1] == 0``)."""
        return bool(self.edges[-1] == 0.0)

    @property
    def receptive_field(self) -> tuple:
        """``(before, after)`` in seconds: a frame's answer depends on the frames in ``(t - before, t + after]``."""
        return float(-self.edges[0]), float(self.edges[-1])

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self.layer_sizes))
        before, after = self.receptive_field
        return (f"TemporalNetwork({self.skeleton.name}, {'causal' if self.causal else 'centred'}, {self.n_bins} bins "
                f"over -{before:.3g}..+{after:.3g} s, layers {sizes}, source={self.metadata.get('source')!r})")

    # ------------------------------------------------------------------ forward pass
    def window_inputs(self, W, w, times, perspective=None):
        """The network's inputs for every frame of a sequence (for training and tests; :meth:`predict_sequence` chunks).

        Returns
        -------
        inputs : (N, n_in) float32
        r : (N,) float64
            Each frame's plain RMS radius in ``W``'s units (:func:`~lift2d3d.learned.encode_frames`).
        ok : (N,) bool
            Frames the network can lift.
        """
        W, w, perspective = check_frames(W, w, perspective, self.skeleton)
        times = check_times(times, len(W))
        frame_inputs, r, ok = encode_frames(W, w, perspective)
        prefix = window_prefix(frame_inputs, self.n_joints)
        return window_inputs(frame_inputs, prefix, times, self.edges, np.arange(len(W))), r, ok

    def _plain(self, W, w, times, perspective, rows):
        """The layers' answers (len(rows), 3, P) for the frames ``rows`` in their plain units (times their ``r``)."""
        P = self.n_joints
        frame_inputs, r, _ = encode_frames(W, w, perspective)
        prefix = window_prefix(frame_inputs, P)
        plain = np.empty((len(rows), 3 * P))
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start:start + _CHUNK]
            plain[start:start + len(chunk)] = self.forward(window_inputs(frame_inputs, prefix, times, self.edges,
                                                                         chunk))
        return plain.reshape(len(rows), 3, P) * r[rows, None, None]

    def predict_sequence(self, W, w, times, perspective=None, flip=None) -> np.ndarray:
        """Camera-frame 3D joints of one person's normalised 2D frames, each from the frames around it.

        Parameters
        ----------
        W : (N, 2, P) float
            Keypoints normalised per frame exactly as
            :meth:`LiftingNetwork.predict <lift2d3d.learned.LiftingNetwork.predict>`
            takes them (the solver's normalisation: minus the centroid weighted
            by ``w``, over the weighted RMS radius).  Missing joints (``w ==
            0``) are ignored (NaN allowed).
        w : (N, P) float, >= 0
            Joint weights; 0 = missing.  A frame without two distinct used
            joints gives NaN and counts as a frame without keypoints for its
            neighbours.
        times : (N,) float, seconds
            Frame times, strictly increasing; any frame rate, gaps allowed (a
            gap longer than the receptive field splits the sequence).
        perspective : (N, 3) float, optional
            Rows as ``LiftingNetwork.predict`` takes them; None for weak
            perspective.
        flip : bool, optional
            Average with the answer to the mirrored sequence (x negated, left
            and right swapped, the answer mirrored back): twice the work.
            Default: the file's ``test_time_flip``.

        Returns
        -------
        (N, 3, P) float64
            Each frame's joints in the camera frame in that frame's normalised
            units, centred at its weighted centroid (the per-frame network's
            convention); NaN rows for frames it cannot lift.

        Raises
        ------
        ValueError
            Shapes that do not match, weights that are negative or not
            finite, times that are not finite and strictly increasing, a bad
            perspective row.
        """
        W, w, perspective = check_frames(W, w, perspective, self.skeleton)
        times = check_times(times, len(W))
        N, P = w.shape
        X = np.full((N, 3, P), np.nan)
        ok = encode_frames(W, w, perspective)[2]
        rows = np.flatnonzero(ok)
        if not len(rows):
            return X
        plain = self._plain(W, w, times, perspective, rows)
        if self.flip if flip is None else flip:
            # the mirrored sequence: x negated and left and right swapped in the 2D, the perspective row's x
            # negated; its answer mirrored back
            mirror = np.asarray(self.skeleton.mirror_permutation())
            W_m = W[:, :, mirror] * np.array([-1.0, 1.0])[None, :, None]
            row_m = None if perspective is None else perspective * np.array([1.0, -1.0, 1.0])
            mirrored = self._plain(W_m, w[:, mirror], times, row_m, rows)[:, :, mirror]
            plain = 0.5 * (plain + mirrored * np.array([-1.0, 1.0, 1.0])[None, :, None])
        weights = w[rows]
        centre = (plain * weights[:, None, :]).sum(axis=2) / weights.sum(axis=1)[:, None]
        X[rows] = plain - centre[:, :, None]
        return X

    def predict_keypoints(self, keypoints, scores=None, times=None, fps: float = 30.0, focal=None,
                          principal=None) -> np.ndarray:
        """The network on one person's pixel keypoints: (N, P, 2) pixels -> (N, P, 3), pixels at the person's depth.

        As :meth:`LiftingNetwork.predict_keypoints
        <lift2d3d.learned.LiftingNetwork.predict_keypoints>`, over a sequence.

        Parameters
        ----------
        keypoints : (N, P, 2) float, pixels, NaN = missing
        scores : (N, P) float, optional
        times : (N,) float, seconds, optional
            Default ``arange(N) / fps``.
        fps : float
            The frame rate when ``times`` is not given.
        focal, principal
            Full perspective with this camera (default weak perspective).

        Returns
        -------
        (N, P, 3) float64
            NaN for frames that cannot be lifted.
        """
        W, w, sigma, perspective, single = keypoint_frames(keypoints, scores, focal, principal, self.skeleton)
        if single:
            raise ValueError("predict_keypoints of a temporal network needs a sequence: keypoints of shape "
                             f"(n_frames, {self.n_joints}, 2)")
        if times is None:
            if not (np.isfinite(fps) and fps > 0):
                raise ValueError(f"fps must be a positive frame rate; got {fps}")
            times = np.arange(len(W)) / float(fps)
        X = self.predict_sequence(W, w, times, perspective)
        return (X * sigma[:, None, None]).transpose(0, 2, 1)
