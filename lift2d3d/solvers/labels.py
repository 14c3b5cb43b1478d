"""Detector left/right swaps, found from the 2D keypoints' continuity over a person's frames.

A 2D detector now and then labels a person's left arm (or leg) as the right
one in a single frame.  Lifted as given, that frame is a different pose, and
the temporal refinement can only smear it over its neighbours.  In 2D the
swap is plain: the swapped joints jump to the other side and back, while the
motion of a body between frames at video rates is smooth.

So every frame gets a labelling state (as given, or with one of the
alternative permutations ``perms``, e.g. arms swapped, legs swapped, both),
and one second-order Viterbi pass (:func:`label_path`) picks the sequence of
states that minimises::

    sum_n c log(1 + || d_n0 U_{n-1} pi_{s_{n-1}} + d_n1 U_n pi_{s_n} + d_n2 U_{n+1} pi_{s_{n+1}} ||^2_w
                    / (c sigma_n^2)) + penalty * #{n : s_n != 0}

the squared 2D accelerations of the relabelled keypoints (in units of each
frame's size ``sigma_n``, over the joints seen in all three frames), under a
Cauchy loss of scale ``c`` (:data:`CUT_SCALE`) so that a cut in the video,
where every labelling jumps, buys no relabelling, plus a charge for every
relabelled frame so that the labels as given win whenever the evidence is
weak (limbs that cross each other, a missing joint).  A
labelling that stays swapped for the whole sequence cannot be told from
2D continuity, and is left as given.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .prox import KERNEL

__all__ = ["label_path", "SWAP_PENALTY"]

#: Charge for relabelling one frame (squared accelerations in units of the frame's 2D RMS radius).
#: On 60 CMU clips (30 fps) with 5 % of the frames' arms or legs swapped, 0.2 found 179 of the 179
#: swaps at 1 px noise and 173 at 4 px noise with 10 % of the joints missing, with 1 and 2 false
#: alarms in the 3,600 frames of the same clips unswapped (0.05: 19 false alarms at 4 px; 0.5: 169
#: found).
SWAP_PENALTY = 0.2
#: Scale of the Cauchy loss on each frame's squared acceleration (same units): far above the 0.03
#: of a typical frame of the CMU clips at 30 fps, below the whole-body jump of a cut.
CUT_SCALE = 1.0


@njit(**KERNEL)
def _acceleration_cost(U, w, d, sigma, perms, n, a, b, c):
    """Cost of states ``a, b, c`` at frames ``n-1, n, n+1``: the squared 2D acceleration of the relabelled
    keypoints over the joints seen in all three, in units of frame ``n``'s size."""
    P = U.shape[2]
    acc = 0.0
    for j in range(P):
        ja, jb, jc = perms[a, j], perms[b, j], perms[c, j]
        if w[n - 1, ja] <= 0.0 or w[n, jb] <= 0.0 or w[n + 1, jc] <= 0.0:
            continue
        for r in range(2):
            v = d[n, 0] * U[n - 1, r, ja] + d[n, 1] * U[n, r, jb] + d[n, 2] * U[n + 1, r, jc]
            acc += v * v
    # Cauchy: a cut in the video (or a fast motion at a low frame rate) costs every labelling about
    # the same, so it cannot buy a relabelling; a swap's jump against smooth neighbours still does
    return CUT_SCALE * np.log1p(acc / (sigma[n] * sigma[n]) / CUT_SCALE)


@njit(**KERNEL)
def label_path(U, w, d, sigma, perms, penalty, states):
    """The labelling of least cost (module docstring) by a second-order Viterbi pass.

    Parameters
    ----------
    U : (N, 2, P) float64
        Keypoints, pixels, time order.
    w : (N, P) float64
        Weights (0 = missing).
    d : (N, 3) float64
        Second-difference rows (:func:`lift2d3d.solvers.temporal.acceleration_rows`; zero rows
        do not couple their frames).
    sigma : (N,) float64
        Each frame's 2D size, pixels (positive).
    perms : (S, P) int64
        Labellings: ``perms[s, j]`` is the input joint read as joint ``j`` in state ``s``; state 0
        must be the identity.
    penalty : float
        Charge for every frame not in state 0.
    states : (N,) int64, out
        The chosen state of every frame.

    Returns
    -------
    float
        The cost of the chosen labelling.
    """
    N = U.shape[0]
    S = perms.shape[0]
    if N == 0:
        return 0.0
    if N == 1:
        states[0] = 0
        return 0.0
    # cost[a, b]: best cost of frames 0..n with states (a, b) at frames n-1, n
    cost = np.empty((S, S))
    for a in range(S):
        for b in range(S):
            cost[a, b] = penalty * ((a != 0) + (b != 0))
    back = np.zeros((N, S, S), dtype=np.int64)
    new = np.empty((S, S))
    for n in range(1, N - 1):
        for b in range(S):
            for c in range(S):
                best = np.inf
                arg = 0
                for a in range(S):
                    v = cost[a, b]
                    if d[n, 0] != 0.0 or d[n, 1] != 0.0 or d[n, 2] != 0.0:
                        v += _acceleration_cost(U, w, d, sigma, perms, n, a, b, c)
                    if v < best:
                        best = v
                        arg = a
                new[b, c] = best + penalty * (c != 0)
                back[n + 1, b, c] = arg
        for b in range(S):
            for c in range(S):
                cost[b, c] = new[b, c]
    best = np.inf
    sb = 0
    sc = 0
    for b in range(S):
        for c in range(S):
            if cost[b, c] < best:
                best = cost[b, c]
                sb = b
                sc = c
    states[N - 1] = sc
    states[N - 2] = sb
    for n in range(N - 1, 1, -1):
        states[n - 2] = back[n, states[n - 1], states[n]]
    return best

