"""body15 as an animation rig: fixed bone lengths, joint rotations by inverse kinematics, forward kinematics.

A BVH file (:mod:`lift2d3d.io.bvh`) holds one skeleton -- joint offsets in a
rest pose -- and, per frame, the root's position and every joint's rotation.
:func:`fit_rig` turns a clip of body15 joint positions (the world frame of
:mod:`lift2d3d.world`: Y up) into that: the bone lengths are the clip's
medians, so they are constant over the clip, and each joint's rotation points
its bone along the lifted bone's direction.

The rig (:data:`RIG`), in its rest pose (a T-pose facing +Z, Y up, the
character's left along +X; the pose retargeting tools expect)::

    hips (root, at the pelvis)
    +- left_up_leg (left hip)  - left_leg (knee) - left_foot (ankle) - end site (toes, forward)
    +- right_up_leg ...
    +- spine (at the pelvis)
       +- neck (at the neck) - head (halfway to the head centre) - end site (as far beyond it)
       +- left_shoulder (at the neck: the clavicle) - left_arm (shoulder) - left_fore_arm (elbow)
       |                                            - left_hand (wrist) - end site (fingers)
       +- right_shoulder ...

Rotations (all exact for the bone directions; the bone lengths are the
clip's medians):

* ``hips``: the hip line is its X axis exactly, the torso gives Y (made
  perpendicular to X); ``spine`` (at the same point) turns +Y onto the torso
  exactly.
* a joint with one bone below it turns that bone's rest direction onto the
  lifted one by the shortest rotation from its parent's frame (no twist) --
  except the upper arms and thighs, whose twist puts the elbow's or knee's
  bend in the plane of its hinge (local Y for the arms, X for the legs), so
  a forearm or shank swings about one axis as anatomy has it.  A limb
  within 15 degrees of straight has no bend to read: the twist is blended
  towards none; a bend the wrong way (an over-extended knee, a depth
  flip) keeps the nearer hinge direction rather than turning the limb over.
* the hands and the head keep their parent's rotation; the feet are level,
  toes along the hips' heading (the lift has no foot points).  body15's head
  (the head's centre) is the midpoint of the head joint and its end site, the
  rule BVH readers use for a rig's single head joint
  (:func:`lift2d3d.mocap.read_bvh`).

With fixed bone lengths the lifted joints cannot all be met (a lift's bones
vary by a few millimetres from frame to frame), so the bone directions and the
root are first fitted by least squares to all 15 joints
(:func:`fit_directions`): the error spreads over the body instead of collecting
at the wrists and ankles.  The rotations then reproduce those positions
exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = ["RigJoint", "RIG", "RigMotion", "fit_rig", "fit_directions", "forward_kinematics", "euler_angles",
           "euler_matrices", "RIG_JOINT_NAMES", "STRAIGHT_LIMB_DEG"]

#: Below this bend (degrees) a limb's hinge plane is not trusted: the twist is blended towards none.
STRAIGHT_LIMB_DEG = 15.0

_X, _Y, _Z = np.eye(3)


class RigJoint(NamedTuple):
    """One joint of :data:`RIG`.

    ``point``: the body15 joint it sits at; ``offset``: the unit direction of its OFFSET from the
    parent in the rest pose (zero: it sits at its parent's point); ``aim``: the body15 bone
    ``(from, to)`` its rotation points along, with ``rest`` that bone's direction in the joint's own
    frame at rest; ``hinge``: the local axis the next joint bends about, with the next bone; ``end``:
    the direction and the fraction of the named bone's length of its end site (leaves only);
    ``fraction``: the OFFSET's length as a fraction of the bone from the parent's point to ``point``
    (the head joint sits halfway).
    """

    name: str
    parent: int
    point: str
    offset: tuple
    aim: tuple = None
    rest: tuple = None
    hinge: tuple = None
    end: tuple = None
    fraction: float = 1.0


def _side(side, sign):
    s = f"{side}_"
    base = 0 if side == "left" else 7
    return [
        RigJoint(f"{s}up_leg", 0, f"{s}hip", (sign, 0, 0), (f"{s}hip", f"{s}knee"), (0, -1, 0),
                 hinge=((1, 0, 0), (f"{s}knee", f"{s}ankle"))),
        RigJoint(f"{s}leg", base + 1, f"{s}knee", (0, -1, 0), (f"{s}knee", f"{s}ankle"), (0, -1, 0)),
        RigJoint(f"{s}foot", base + 2, f"{s}ankle", (0, -1, 0), end=((0, 0, 1), (f"{s}knee", f"{s}ankle"), 0.4)),
    ]


def _arm(side, sign, first):
    s = f"{side}_"
    return [
        RigJoint(f"{s}shoulder", 7, "neck", (0, 1, 0), ("neck", f"{s}shoulder"), (sign, 0, 0)),
        RigJoint(f"{s}arm", first, f"{s}shoulder", (sign, 0, 0), (f"{s}shoulder", f"{s}elbow"), (sign, 0, 0),
                 hinge=((0, 1, 0), (f"{s}elbow", f"{s}wrist"))),
        RigJoint(f"{s}fore_arm", first + 1, f"{s}elbow", (sign, 0, 0), (f"{s}elbow", f"{s}wrist"), (sign, 0, 0)),
        RigJoint(f"{s}hand", first + 2, f"{s}wrist", (sign, 0, 0), end=((sign, 0, 0), (f"{s}elbow", f"{s}wrist"), 0.4)),
    ]


#: The rig, parents before children (see the module docstring).
RIG = tuple(
    [RigJoint("hips", -1, "pelvis", (0, 0, 0))]
    + _side("left", 1)                                   # 1-3
    + [RigJoint("right_up_leg", 0, "right_hip", (-1, 0, 0), ("right_hip", "right_knee"), (0, -1, 0),
                hinge=((1, 0, 0), ("right_knee", "right_ankle"))),
       RigJoint("right_leg", 4, "right_knee", (0, -1, 0), ("right_knee", "right_ankle"), (0, -1, 0)),
       RigJoint("right_foot", 5, "right_ankle", (0, -1, 0),
                end=((0, 0, 1), ("right_knee", "right_ankle"), 0.4))]      # 4-6
    + [RigJoint("spine", 0, "pelvis", (0, 0, 0), ("pelvis", "neck"), (0, 1, 0)),                  # 7
       RigJoint("neck", 7, "neck", (0, 1, 0), ("neck", "head"), (0, 1, 0)),                        # 8
       RigJoint("head", 8, "head", (0, 1, 0), end=((0, 1, 0), ("neck", "head"), 1.0), fraction=0.5)]  # 9
    + _arm("left", 1, 10)                                 # 10-13
    + _arm("right", -1, 14)                               # 14-17
)
RIG_JOINT_NAMES = tuple(j.name for j in RIG)
_PARENTS = np.array([j.parent for j in RIG])
_NEEDED = ("pelvis", "neck", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
           "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")


@dataclass(frozen=True)
class RigMotion:
    """What :func:`fit_rig` returns: one rig for the clip and its motion.

    Attributes
    ----------
    offsets : (J, 3) float, metres
        Each joint's OFFSET from its parent (the rest pose; the root's is zero).
    end_sites : (J, 3) float, metres
        The end site's offset of each leaf joint (NaN for the others).
    rotations : (N, J, 3, 3) float
        Each joint's rotation relative to its parent (the root's: relative to the world).
    root : (N, 3) float, metres
        The root's position per frame.
    lengths : dict
        The bone lengths used (metres), by body15 bone ``"a-b"``.
    """

    offsets: np.ndarray
    end_sites: np.ndarray
    rotations: np.ndarray
    root: np.ndarray
    lengths: dict

    @property
    def parents(self) -> np.ndarray:
        return _PARENTS.copy()

    def body15(self) -> np.ndarray:
        """body15's joints (N, 15, 3) as the rig places them (the head: the midpoint of the head joint and its
        end site)."""
        from .skeletons import BODY15

        positions, world = forward_kinematics(self.offsets, self.rotations, self.root, return_rotations=True)
        first = {}
        for k, joint in enumerate(RIG):
            first.setdefault(joint.point, k)
        out = np.stack([positions[:, first[name]] for name in BODY15.joints], axis=1)
        head = RIG_JOINT_NAMES.index("head")
        out[:, BODY15.index("head")] = positions[:, head] + 0.5 * world[:, head] @ self.end_sites[head]
        return out

    @property
    def names(self) -> tuple:
        return RIG_JOINT_NAMES


def _unit(v):
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def _swing(a, b):
    """Shortest rotations (n, 3, 3) turning unit vectors ``a`` (3,) or (n, 3) onto unit ``b`` (n, 3)."""
    a = np.broadcast_to(a, b.shape)
    v = np.cross(a, b)
    c = np.einsum("ni,ni->n", a, b)
    K = np.zeros(b.shape[:1] + (3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    K[:, 1, 0], K[:, 2, 0], K[:, 2, 1] = v[:, 2], -v[:, 1], v[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        R = np.eye(3) + K + (K @ K) / (1.0 + c)[:, None, None]
    opposite = 1.0 + c < 1e-9
    if opposite.any():
        # half a turn about any axis perpendicular to a
        helper = np.where(np.abs(a[opposite, :1]) < 0.9, _X, _Z)
        u = _unit(np.cross(a[opposite], helper))
        R[opposite] = 2 * np.einsum("ni,nj->nij", u, u) - np.eye(3)
    return R


def _about(axis, angle):
    """Rotations (n, 3, 3) by ``angle`` (n,) radians about unit ``axis`` (n, 3) (Rodrigues)."""
    K = np.zeros(axis.shape[:1] + (3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    K[:, 1, 0], K[:, 2, 0], K[:, 2, 1] = axis[:, 2], -axis[:, 1], axis[:, 0]
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3) + s * K + (1 - c) * (K @ K)


#: body15's tree for :func:`fit_directions`: each joint's parent, parents first.
_TREE = (("pelvis", None), ("neck", "pelvis"), ("head", "neck"), ("left_shoulder", "neck"),
         ("left_elbow", "left_shoulder"), ("left_wrist", "left_elbow"), ("right_shoulder", "neck"),
         ("right_elbow", "right_shoulder"), ("right_wrist", "right_elbow"), ("left_hip", "pelvis"),
         ("left_knee", "left_hip"), ("left_ankle", "left_knee"), ("right_hip", "pelvis"), ("right_knee", "right_hip"),
         ("right_ankle", "right_knee"))
#: The halves of a line through its midpoint (body15's pelvis and neck), left first.
_LINES = (("left_hip", "right_hip"), ("left_shoulder", "right_shoulder"))
_HALVES = {("pelvis", "left_hip"), ("pelvis", "right_hip"), ("neck", "left_shoulder"), ("neck", "right_shoulder")}
#: Sweeps of :func:`fit_directions` (the error settles within a few; more change it by < 0.01 mm).
DIRECTION_SWEEPS = 8


def fit_directions(points, lengths, sweeps=DIRECTION_SWEEPS) -> dict:
    """Joint positions with the given bone lengths closest (least squares over all joints) to ``points``.

    The positions are ``q_j = q_parent + l_j d_j`` over body15's tree from the
    pelvis, with the two hip halves on one line (``d_right_hip = -d_left_hip``,
    as the rig's hips joint has them) and the two shoulder halves too (body15's
    pelvis and neck are the midpoints of the hips and of the shoulders; give
    the two halves one length for that).  Block coordinate descent: the root is
    the mean residual; each bone's unit direction ``d`` minimises the error of
    the joints below it with the rest held, ``d = unit(sum_j (p_j - q_j) + n l
    d_old)`` over those ``n`` joints; ``sweeps`` rounds from the lifted directions.

    Parameters
    ----------
    points : dict of str -> (N, 3) float
        body15's joints.
    lengths : dict of str -> float
        Each non-root joint's bone length (to its parent in the tree).

    Returns
    -------
    dict of str -> (N, 3) float
    """
    below = {joint: [joint] for joint, _ in _TREE}
    for joint, parent in reversed(_TREE):
        while parent is not None:
            below[parent].append(joint)
            parent = dict(_TREE)[parent]
    direction = {j: _unit(points[j] - points[p]) for j, p in _TREE if p is not None}
    for left, right in _LINES:
        direction[left] = _unit(points[left] - points[right])
        direction[right] = -direction[left]
    root = points["pelvis"].copy()

    def place():
        q = {"pelvis": root}
        for joint, parent in _TREE[1:]:
            q[joint] = q[parent] + lengths[joint] * direction[joint]
        return q

    def pull(joint):
        return (np.sum([points[j] - q[j] for j in below[joint]], axis=0)
                + len(below[joint]) * lengths[joint] * direction[joint])

    second = {right for _, right in _LINES}
    first = {left: right for left, right in _LINES}
    q = place()
    for _ in range(sweeps):
        root = root + np.mean([points[j] - q[j] for j in below["pelvis"]], axis=0)
        q = place()
        for joint, parent in _TREE[1:]:
            if joint in second:
                continue
            if joint in first:
                # a line through its midpoint: the left half's joints pull along +d, the right half's along -d
                direction[joint] = _unit(pull(joint) - pull(first[joint]))
                direction[first[joint]] = -direction[joint]
            else:
                direction[joint] = _unit(pull(joint))
            q = place()
    return q

    q = place()
    for _ in range(sweeps):
        root = root + np.mean([points[j] - q[j] for j in below["pelvis"]], axis=0)
        q = place()
        for joint, parent in _TREE[1:]:
            if joint == "right_hip":
                continue
            if joint == "left_hip":
                # the hip line: the left half's joints pull along +d, the right half's along -d
                pull = (np.sum([points[j] - q[j] for j in below["left_hip"]], axis=0)
                        + len(below["left_hip"]) * lengths["left_hip"] * direction["left_hip"])
                push = (np.sum([points[j] - q[j] for j in below["right_hip"]], axis=0)
                        + len(below["right_hip"]) * lengths["right_hip"] * direction["right_hip"])
                direction["left_hip"] = _unit(pull - push)
                direction["right_hip"] = -direction["left_hip"]
            else:
                n = len(below[joint])
                direction[joint] = _unit(np.sum([points[j] - q[j] for j in below[joint]], axis=0)
                                         + n * lengths[joint] * direction[joint])
            q = place()
    return q


def fit_rig(joints3d, joint_names, up=(0.0, 1.0, 0.0)) -> RigMotion:
    """Fit :data:`RIG` to a clip: the clip's median bone lengths, rotations by inverse kinematics.

    Parameters
    ----------
    joints3d : (N, P, 3) float, metres
        World frame (``up`` is the vertical), every value finite (fill gaps first).
    joint_names : sequence of str
        Must include body15's 15 joints.
    up : (3,) float
        The vertical, for the level feet.

    Returns
    -------
    RigMotion

    Raises
    ------
    ValueError
        A body15 joint is missing, or a value is not finite.
    """
    names = list(joint_names)
    missing = [j for j in _NEEDED if j not in names]
    if missing:
        raise ValueError(f"the rig needs body15's joints; missing {', '.join(missing)} (write the bases' own "
                         "joints, not another skeleton's order)")
    joints3d = np.asarray(joints3d, dtype=np.float64)
    if not np.isfinite(joints3d).all():
        raise ValueError("the rig is fitted to finite joints only: fill or drop the frames that were not lifted")
    n = len(joints3d)
    if n == 0:
        raise ValueError("no frame to fit the rig to")
    at = {j: joints3d[:, names.index(j)] for j in _NEEDED}
    up = _unit(np.asarray(up, dtype=np.float64))

    def median_length(a, b):
        return float(np.median(np.linalg.norm(at[b] - at[a], axis=-1)))

    tree_lengths = {j: median_length(p, j) for j, p in _TREE if p is not None}
    for left, right in _LINES:
        # body15's pelvis and neck are midpoints: both halves of the line get their mean length
        tree_lengths[left] = tree_lengths[right] = 0.5 * (tree_lengths[left] + tree_lengths[right])
    at = fit_directions(at, tree_lengths)

    def length(a, b):
        # the fitted positions have the tree's lengths exactly
        return float(np.median(np.linalg.norm(at[b] - at[a], axis=-1)))

    lengths = {}
    offsets = np.zeros((len(RIG), 3))
    end_sites = np.full((len(RIG), 3), np.nan)
    for k, joint in enumerate(RIG):
        if joint.parent >= 0:
            start = RIG[joint.parent].point
            if start != joint.point:
                lengths[f"{start}-{joint.point}"] = length(start, joint.point)
                offsets[k] = (np.asarray(joint.offset, dtype=np.float64) * joint.fraction
                              * lengths[f"{start}-{joint.point}"])
        if joint.end is not None:
            direction, (a, b), fraction = joint.end
            end_sites[k] = np.asarray(direction, dtype=np.float64) * fraction * length(a, b)

    world = np.zeros((n, len(RIG), 3, 3))
    local = np.zeros((n, len(RIG), 3, 3))
    sin_straight = np.sin(np.radians(STRAIGHT_LIMB_DEG))
    for k, joint in enumerate(RIG):
        parent = world[:, joint.parent] if joint.parent >= 0 else np.broadcast_to(np.eye(3), (n, 3, 3))
        if k == 0:
            x = _unit(at["left_hip"] - at["right_hip"])
            torso = at["neck"] - at["pelvis"]
            y = _unit(torso - np.einsum("ni,ni->n", torso, x)[:, None] * x)
            R = np.stack([x, y, np.cross(x, y)], axis=2)
        elif joint.aim is not None:
            a, b = joint.aim
            d = _unit(at[b] - at[a])
            target = np.einsum("nji,nj->ni", parent, d)          # the bone in the parent's frame
            R = parent @ _swing(np.asarray(joint.rest, dtype=np.float64), target)
            if joint.hinge is not None:
                axis, (c, e) = joint.hinge
                bend = np.cross(d, _unit(at[e] - at[c]))
                strength = np.linalg.norm(bend, axis=-1)
                current = R @ np.asarray(axis, dtype=np.float64)   # the hinge axis without twist, world
                sign = np.where(np.einsum("ni,ni->n", bend, current) < 0, -1.0, 1.0)
                wanted = _unit(bend) * sign[:, None]
                angle = np.arctan2(np.einsum("ni,ni->n", d, np.cross(current, wanted)),
                                   np.einsum("ni,ni->n", current, wanted))
                angle = np.where(strength > 0, angle * np.clip(strength / sin_straight, 0.0, 1.0), 0.0)
                R = _about(d, angle) @ R
        elif joint.name.endswith("_foot"):
            forward = world[:, 0, :, 2]
            forward = _unit(forward - np.einsum("ni,i->n", forward, up)[:, None] * up)
            side = _unit(np.cross(up, forward))
            R = np.stack([side, np.broadcast_to(up, side.shape), forward], axis=2)
        else:
            R = parent
        world[:, k] = R
        local[:, k] = np.swapaxes(parent, 1, 2) @ R
    return RigMotion(offsets=offsets, end_sites=end_sites, rotations=local, root=at["pelvis"].copy(),
                     lengths=lengths)


def forward_kinematics(offsets, rotations, root, parents=None, return_rotations=False):
    """World positions (N, J, 3) of a rig's joints: ``p_j = p_parent + R_parent offset_j``, ``R_j = R_parent L_j``.

    Parameters
    ----------
    offsets : (J, 3) float
    rotations : (N, J, 3, 3) float
        Local rotations (the root's relative to the world).
    root : (N, 3) float
    parents : (J,) int, optional
        Default :data:`RIG`'s.
    return_rotations : bool
        Also return the world rotations (N, J, 3, 3).
    """
    parents = _PARENTS if parents is None else np.asarray(parents)
    n, J = rotations.shape[:2]
    world = np.zeros((n, J, 3, 3))
    positions = np.zeros((n, J, 3))
    for k in range(J):
        p = parents[k]
        if p < 0:
            world[:, k] = rotations[:, k]
            positions[:, k] = root
        else:
            world[:, k] = world[:, p] @ rotations[:, k]
            positions[:, k] = positions[:, p] + world[:, p] @ offsets[k]
    return (positions, world) if return_rotations else positions


def euler_angles(rotations, order="ZXY") -> np.ndarray:
    """Euler angles (..., 3) in degrees, intrinsic in ``order`` (BVH's: ``ZXY`` means ``Rz @ Rx @ Ry``),
    continuous over the first axis (frames): each angle is unwrapped by whole turns."""
    from scipy.spatial.transform import Rotation

    rotations = np.asarray(rotations, dtype=np.float64)
    shape = rotations.shape[:-2]
    angles = Rotation.from_matrix(rotations.reshape(-1, 3, 3)).as_euler(order.upper(), degrees=True)
    angles = angles.reshape(shape + (3,))
    if len(shape) >= 1 and shape[0] > 1:
        angles = np.degrees(np.unwrap(np.radians(angles), axis=0))
    return angles


def euler_matrices(angles, order="ZXY") -> np.ndarray:
    """Rotation matrices of intrinsic Euler angles in degrees (the inverse of :func:`euler_angles`)."""
    from scipy.spatial.transform import Rotation

    angles = np.asarray(angles, dtype=np.float64)
    return Rotation.from_euler(order.upper(), angles.reshape(-1, 3), degrees=True).as_matrix().reshape(
        angles.shape[:-1] + (3, 3))
