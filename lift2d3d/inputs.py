"""A lift's inputs: keypoints in the bases' joint order and in pixels, validated, and a sequence's frame times.

One validation for the API: the shapes, the coordinates (non-finite or
absurd), the scores and the minimum number of joints, with messages that
name the frame and the joint.
"""

from __future__ import annotations

import numpy as np

from . import status as _status
from .status import MIN_JOINTS

__all__ = ["to_bases_order", "validate", "sequence_times"]


def to_bases_order(keypoints2d, scores, skeleton, image_size, target):
    """Keypoints (and scores) in the ``target`` skeleton's joint order (the bases') and in pixels.

    ``skeleton`` names the keypoints' own joint order (None: already the target's); ``image_size``
    (width, height) converts coordinates normalised to the image into pixels.  Returns
    ``(keypoints, scores, source_check)``: the check of the keypoints in their own joint order
    (:func:`lift2d3d.mapping.check_keypoints`, so that no bad value is mapped away unseen; None when
    they were given in the target's order).
    """
    from .pixels import check_image_size, normalised_rows, to_pixels
    from .skeletons import get_skeleton

    source_check = None
    if skeleton is not None:
        try:
            source = get_skeleton(skeleton)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        if source.joints != target.joints:
            from .mapping import JointMapping, check_keypoints

            kp = np.asarray(keypoints2d)
            single = kp.ndim == 2
            if kp.ndim not in (2, 3) or kp.shape[-2:] != (source.n_joints, 2):
                raise ValueError(f"Expected {source.name} keypoints of shape ({source.n_joints}, 2) or "
                                 f"(n_frames, {source.n_joints}, 2) in the order {', '.join(source.joints)}; "
                                 f"got {kp.shape}")
            # checked in the input's own joint order, so that no bad value is mapped away unseen
            source_check = check_keypoints(keypoints2d, scores, source.joints)
            mapping = JointMapping(source, target)
            if not (mapping.direct or mapping.derived):
                raise ValueError(f"no joint of {source.name} maps onto the bases' skeleton {target.name}")
            if single and source_check.status[0] != 0:
                raise ValueError(f"cannot lift this pose: {source_check.messages[0]}")
            kp, sc = mapping.apply(source_check.keypoints, source_check.scores)
            keypoints2d, scores = (kp[0], sc[0]) if single else (kp, sc)
    image_size = check_image_size(image_size)
    if image_size is not None:
        kp = np.asarray(keypoints2d, dtype=np.float64)
        rows = np.atleast_1d(normalised_rows(kp, scores))
        if not rows.any():
            raise ValueError(f"image_size={image_size} was given, but the keypoints are not normalised to the "
                             "image (they are not all within [0, 1]); pass pixels without image_size")
        keypoints2d = to_pixels(kp, image_size)
    return keypoints2d, scores, source_check


def validate(keypoints2d, scores, joint_names, source_check=None):
    """Keypoints (N, 2, P) pixels, weights (N, P), statuses, reasons and whether one pose was given.

    ``joint_names`` are the expected joints (P).  The rules are the readers' own
    (:func:`lift2d3d.mapping.check_keypoints`): non-finite or absurd coordinates make a frame
    ``non_finite``, bad scores ``bad_input``; then a frame with too few joints is
    ``too_few_joints``; ``source_check`` carries what the input's own skeleton showed before it was
    mapped (:func:`to_bases_order`).  A single pose that cannot be lifted raises ValueError.
    """
    from .mapping import check_keypoints

    P = len(joint_names)
    kp = np.asarray(keypoints2d)
    if kp.ndim not in (2, 3) or kp.shape[-2:] != (P, 2):
        from .skeletons import SKELETONS

        guess = [s.name for s in SKELETONS.values() if kp.ndim in (2, 3) and kp.shape[-2:] == (s.n_joints, 2)]
        hint = (f"these look like {' or '.join(guess)} keypoints: pass skeleton={guess[0]!r}" if guess else
                f"pass skeleton=NAME for another joint order ({', '.join(SKELETONS)})")
        raise ValueError(f"Expected 2D keypoints of shape ({P}, 2) or (n_frames, {P}, 2) in the order "
                         f"{', '.join(joint_names)}; got {kp.shape}; {hint}, or read a file with "
                         "lift2d3d.read_keypoints(...) and lift table.for_lifter(lifter).")
    # the one validation the readers use too
    check = check_keypoints(keypoints2d, scores, joint_names)
    single, status, reasons = check.single, check.status, check.messages
    if source_check is not None:          # what the input's own skeleton showed before mapping
        for n in np.flatnonzero(source_check.status != 0):
            status[n], reasons[n] = source_check.status[n], source_check.messages[n]
    w = check.scores
    w[status != 0] = 0.0
    kp = np.nan_to_num(check.keypoints, nan=0.0)
    used = (w > 0).sum(axis=1)
    for n in np.flatnonzero((used < MIN_JOINTS) & (status == 0)):
        present = [joint_names[j] for j in np.flatnonzero(w[n] > 0)]
        status[n] = _status.TOO_FEW_JOINTS
        reasons[n] = (f"only {used[n]} usable joint(s) ({', '.join(present) or 'none'}); at least "
                      f"{MIN_JOINTS} are needed")
    if single and status[0] != 0:
        raise ValueError(f"cannot lift this pose: {reasons[0]}")
    return np.ascontiguousarray(kp.transpose(0, 2, 1)), np.ascontiguousarray(w), status, reasons, single


def sequence_times(frames, n):
    """Frame numbers ``(n,)`` as float times, checked: finite, one per row, none twice."""
    if frames is None:
        return np.arange(n, dtype=np.float64)
    try:
        times = np.asarray(frames, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("frames must be numbers (frame numbers, one per row)") from None
    if times.shape != (n,):
        raise ValueError(f"frames must hold one frame number per row: expected shape ({n},), got {times.shape}")
    bad = np.flatnonzero(~np.isfinite(times))
    if len(bad):
        raise ValueError(f"frames must be finite numbers; row(s) {', '.join(map(str, bad[:5]))} hold "
                         f"{', '.join(map(str, times[bad[:5]]))}")
    order = np.argsort(times, kind="stable")
    twice = np.flatnonzero(np.diff(times[order]) == 0)
    if len(twice):
        pairs = [f"frame {times[order[i]]:g} at rows {order[i]} and {order[i + 1]}" for i in twice[:5]]
        raise ValueError(f"lift_sequence lifts one person: each frame number may appear once, but {'; '.join(pairs)}"
                         f"{' (and more)' if len(twice) > 5 else ''}; split the rows by person (and video) first, "
                         "or drop the duplicates")
    return times
