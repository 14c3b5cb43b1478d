"""Ordinal depth hints: "this joint is nearer the camera than that one", checked and encoded.

A relation is ``(joint_a, relation, joint_b)`` with relation ``"<"`` (a is
nearer the camera than b), ``">"`` (a is farther) or ``"="`` (about the same
depth), in the camera frame (z away from the camera), as in Pavlakos, Zhou &
Daniilidis, "Ordinal Depth Supervision for 3D Human Pose Estimation" (CVPR
2018).  Joints are named as in any supported skeleton (``left_wrist``,
``LWrist``, ``l_wrist`` ...) and must be joints of the bases' skeleton.

:func:`encode_relations` turns per-frame lists of relations into the arrays
the solver's depth-order term reads (:mod:`lift2d3d.solvers.terms`), and
reports, per frame, the first relation that cannot be used: an unknown joint,
a joint that frame does not show, or relations that cannot all hold
(``a < b`` with ``b < a``, a longer cycle, or a cycle through "about equal"
relations that the solver's tolerance cannot close).
"""

from __future__ import annotations

import numpy as np

from .skeletons import canonical_joint_name

__all__ = ["RELATIONS", "encode_relations", "frames_of"]

#: Relation symbols and their kind in the solver (0: nearer than, 1: about equal).
RELATIONS = {"<": 0, ">": 0, "=": 1}


def frames_of(depth_order, n_frames: int, single: bool) -> list:
    """``depth_order`` as one list of relations per frame.

    Accepts, for a single pose, a list of relations; for a batch, a list of
    ``n_frames`` lists (None or [] for a frame without hints), or a dict
    ``{frame index: relations}``.
    """
    if depth_order is None:
        return [[] for _ in range(n_frames)]
    if single:
        return [list(depth_order)]
    if isinstance(depth_order, dict):
        frames = [[] for _ in range(n_frames)]
        for index, relations in depth_order.items():
            if not (isinstance(index, (int, np.integer)) and 0 <= int(index) < n_frames):
                raise ValueError(f"depth_order: frame index {index!r} is not one of the {n_frames} frames")
            frames[int(index)] = list(relations or [])
        return frames
    frames = list(depth_order)
    if len(frames) != n_frames:
        raise ValueError(f"depth_order must give one list of relations per frame ({n_frames}); got {len(frames)} "
                         "(or pass a dict {frame index: relations})")
    return [list(relations or []) for relations in frames]


def _describe(k, relation) -> str:
    return f"relation {k} {tuple(relation)!r}"


def encode_relations(frames, skeleton, weights, margin=0.02, tol=0.1):
    """Check per-frame relations and encode them for the solver.

    Parameters
    ----------
    frames : list of lists of (joint_a, relation, joint_b)
        One list per frame (see :func:`frames_of`).
    skeleton : Skeleton
        The bases' skeleton (joint names and order).
    weights : (N, P) float
        The frames' joint weights (0 = missing).
    margin, tol : float
        The solver's margin of "nearer" and tolerance of "about equal"
        (normalised units), which decide whether relations can all hold.

    Returns
    -------
    hints : (N, H, 3) int64
        ``(a, b, kind)`` per relation, "farther than" turned round into
        "nearer than"; unused rows are zero.
    n_hints : (N,) int64
    problems : list of str
        Per frame, "" or why its relations cannot be used (naming the relation).
    """
    N = len(frames)
    H = max((len(relations) for relations in frames), default=0)
    hints = np.zeros((N, H, 3), dtype=np.int64)
    n_hints = np.zeros(N, dtype=np.int64)
    problems = [""] * N
    for n, relations in enumerate(frames):
        rows = []
        for k, relation in enumerate(relations):
            problem = None
            try:
                a_name, symbol, b_name = relation
            except (TypeError, ValueError):
                described = _describe(k, relation) if isinstance(relation, (tuple, list)) else repr(relation)
                problems[n] = (f"depth_order {described}: "
                               "a relation is (joint_a, '<' | '>' | '=', joint_b)")
                break
            if symbol not in RELATIONS:
                problem = f"unknown relation {symbol!r}; use '<' (nearer), '>' (farther) or '=' (about equal)"
            joints = []
            for name in (a_name, b_name):
                if problem:
                    break
                canonical = canonical_joint_name(str(name))
                if canonical not in skeleton._index:
                    problem = (f"unknown joint {name!r}: the bases' skeleton {skeleton.name} has "
                               f"{', '.join(skeleton.joints)}")
                    break
                j = skeleton.index(canonical)
                if weights[n, j] <= 0:
                    problem = f"joint {canonical!r} is missing in this frame (no keypoint or score 0)"
                    break
                joints.append(j)
            if not problem and joints[0] == joints[1]:
                problem = "a joint cannot be ordered against itself"
            if problem:
                problems[n] = f"depth_order {_describe(k, relation)}: {problem}"
                break
            a, b = joints
            rows.append((b, a, 0) if symbol == ">" else (a, b, RELATIONS[symbol]))
        if problems[n]:
            continue
        contradiction = _contradiction(rows, margin, tol)
        if contradiction is not None:
            pair = " and ".join(repr(tuple(relations[k])) for k in contradiction)
            problems[n] = f"depth_order: contradictory relations {pair}"
            continue
        for k, row in enumerate(rows):
            hints[n, k] = row
        n_hints[n] = len(rows)
    return hints, n_hints, problems


def _contradiction(rows, margin, tol):
    """Indices of relations that cannot all hold, or None.

    The relations are difference constraints on the depths: "a nearer than
    b" is ``z_a - z_b <= -margin``, "a about b" is ``|z_a - z_b| <= tol``.
    They can all hold exactly when the constraint graph (an edge b -> a of
    weight d for each ``z_a - z_b <= d``) has no negative cycle
    (Bellman-Ford); the relations on such a cycle are the contradiction.
    "About equal" is not transitive: a = b, b = c and a < c can all hold.
    """
    edges = []
    for k, (a, b, kind) in enumerate(rows):
        if kind == 0:
            edges.append((b, a, -margin, k))
        else:
            edges.append((b, a, tol, k))
            edges.append((a, b, tol, k))
    nodes = sorted({n for a, b, _ in rows for n in (a, b)})
    distance = {n: 0.0 for n in nodes}
    via = {n: None for n in nodes}
    changed = None
    # |V| + 1 rounds: the virtual source (every depth starts at 0) is a node too
    for _ in range(len(nodes) + 1):
        changed = None
        for u, v, d, k in edges:
            if distance[u] + d < distance[v] - 1e-12:
                distance[v] = distance[u] + d
                via[v] = (u, k)
                changed = v
        if changed is None:
            return None
    # a relaxation in the last round: walk back len(nodes) steps to land on the cycle, then collect it
    node = changed
    for _ in range(len(nodes) + 1):
        node = via[node][0]
    cycle, start = [], node
    while True:
        parent, k = via[node]
        cycle.append(k)
        node = parent
        if node == start:
            break
    return sorted(set(cycle))
