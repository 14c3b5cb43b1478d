"""Lifter: validation -> normalisation -> numba solver -> metric result.

Output convention
-----------------
``joints3d`` is in the *camera frame*: x right and y down as in the image,
z pointing away from the camera, in metres.

* Weak perspective (default): the 3D pose is centred at the weighted
  centroid of the used joints, whose depth is 0; x and y agree with the input
  up to the reported scale: ``keypoints2d ≈ scale * joints3d[..., :2] +
  translation[..., :2]`` (``scale`` in pixels per metre, ``translation`` in
  pixels, its z set to 0).
* Full perspective (``camera=Camera(focal, principal)``): metric-consistent
  camera coordinates, ``keypoints2d ≈ principal + focal * joints3d[..., :2] /
  joints3d[..., 2:]``; ``translation`` is the centroid's position (metres) and
  ``scale = focal / translation_z``.

The absolute size is fixed by assuming the person's bone lengths match the
bases' mean pose (least squares over the skeleton's bones); give ``height``
(stature in metres) to rescale to a known person.  Both conventions hold up to
this global scale.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from . import status as _status
from .bases import ShapeBases
from .mapping import check_keypoints
from .solvers.batch import metric_units, solve_frames
from .solvers.records import SolverOptions, frame_results, no_hints, solver_model, solver_options
from .status import MIN_JOINTS

__all__ = ["Lifter", "LiftResult", "Camera", "MIN_JOINTS", "METHODS"]

METHODS = ("convex", "convex+refine", "robust")

#: Depth-order hints (``lift(..., depth_order=...)``; normalised units, where the 2D pose has unit RMS
#: radius, about 0.45 m of a person): weight of a violated relation's squared hinge, the margin by
#: which "nearer" must hold, and the tolerance of "about equal".
DEPTH_WEIGHT = 30.0
DEPTH_MARGIN = 0.02
DEPTH_TOLERANCE = 0.1


@dataclass(frozen=True)
class Camera:
    """Pinhole intrinsics for full-perspective refinement.

    Parameters
    ----------
    focal : float
        Focal length in pixels (``fx = fy``).
    principal : (float, float)
        Principal point ``(cx, cy)`` in pixels.
    """

    focal: float
    principal: Tuple[float, float]

    def __post_init__(self):
        focal = float(self.focal)
        if not np.isfinite(focal) or focal <= 0:
            raise ValueError(f"Camera focal length must be a positive number of pixels; got {self.focal!r}")
        principal = tuple(float(v) for v in self.principal)
        if len(principal) != 2 or not all(np.isfinite(principal)):
            raise ValueError(f"Camera principal point must be (cx, cy) in pixels; got {self.principal!r}")
        object.__setattr__(self, "focal", focal)
        object.__setattr__(self, "principal", principal)



@dataclass(frozen=True)
class LiftResult:
    """What :meth:`Lifter.lift` returns (per frame for a batch).

    Attributes
    ----------
    joints3d : (N, P, 3) or (P, 3) ndarray, metres
        Camera-frame 3D joints (see the module docstring). NaN only for frames
        whose ``status`` says they could not be lifted.
    rotation : (N, 3, 3) or (3, 3)
        Rotation from the bases' frame to the camera frame.
    coefficients : (N, K) or (K,)
        Sparse coefficients: ``joints3d - centroid = rotation @ sum_i c_i B_i``
        with the bases ``B_i`` in metres.
    translation : (N, 3) or (3,)
        Weak perspective: image position (pixels) of the centroid, z = 0.
        Perspective: camera-frame position (metres) of the centroid.
    scale : (N,) or float
        Pixels per metre at the centroid.
    objective : (N,) or float
        Final objective value of the solved problem (normalised units): the
        relaxation (1) with ``alpha`` for ``convex``, the original problem (2)
        with ``refine_alpha`` after a refinement.
    iterations : (N,) or int
        ADMM iterations plus refinement sweeps.
    admm_iterations : (N,) or int
    converged : (N,) bool or bool
    reprojection_error : (N,) or float, pixels
        RMS distance between input and reprojected keypoints over used joints.
    status : (N,) str or str
        ``ok``, ``not_converged`` (best iterate returned), ``too_few_joints``,
        ``non_finite`` or ``degenerate``.
    message : (N,) str or str
        Human-readable explanation.
    outliers : (N, 2, P) or (2, P), pixels
        Estimated gross 2D errors (robust method; zeros otherwise).
    joint_names : tuple of str
    """

    joints3d: np.ndarray
    rotation: np.ndarray
    coefficients: np.ndarray
    translation: np.ndarray
    scale: np.ndarray
    objective: np.ndarray
    iterations: np.ndarray
    admm_iterations: np.ndarray
    converged: np.ndarray
    reprojection_error: np.ndarray
    status: np.ndarray
    message: np.ndarray
    outliers: np.ndarray
    joint_names: tuple
    #: Name of the skeleton ``joints3d`` follows.
    joint_names_skeleton: str = "body15"

    def __len__(self):
        return 1 if self.joints3d.ndim == 2 else self.joints3d.shape[0]

    def __getitem__(self, index) -> "LiftResult":
        """The frames ``index`` (an index array, boolean mask or slice) of a batched result.

        Examples
        --------
        >>> import numpy as np, lift2d3d
        >>> lifter = lift2d3d.Lifter()
        >>> keypoints = 400.0 * lifter.bases.mean_pose[:2].T + [320.0, 240.0]
        >>> result = lifter.lift(np.stack([keypoints] * 3))
        >>> len(result[result.ok][:2])
        2
        """
        from dataclasses import fields, replace

        if self.joints3d.ndim != 3:
            raise TypeError("a single frame's LiftResult cannot be indexed; lift a batch (N, P, 2)")
        per_frame = {f.name: getattr(self, f.name)[index] for f in fields(self)
                     if isinstance(getattr(self, f.name), np.ndarray)}
        return replace(self, **per_frame)

    @property
    def ok(self):
        """True (per frame) where a usable 3D pose was produced (``ok`` or ``not_converged``:
        :data:`lift2d3d.status.LIFTED`); a ``suspect_input`` frame keeps its pose but is not ok."""
        return np.isin(self.status, _status.LIFTED) if self.joints3d.ndim == 3 \
            else self.status in _status.LIFTED

    def to_skeleton(self, skeleton) -> "LiftResult":
        """The same result with ``joints3d`` in another skeleton's joint order.

        Joints the other skeleton shares by name are copied; those it defines
        from others are derived as :mod:`lift2d3d.mapping` derives keypoints
        (``thorax`` = mid-shoulders, ``spine`` = mid(pelvis, neck), ...); the
        ones body15 cannot provide (e.g. ``nose``, ``head_top``) are NaN.

        Parameters
        ----------
        skeleton : str or Skeleton
            E.g. ``"h36m17"`` or ``"coco17"``.

        Examples
        --------
        >>> import lift2d3d
        >>> lifter = lift2d3d.Lifter()
        >>> keypoints = 400.0 * lifter.bases.mean_pose[:2].T + [320.0, 240.0]
        >>> h36m = lifter.lift(keypoints).to_skeleton("h36m17")
        >>> h36m.joint_names[:3], h36m.joints3d.shape
        (('pelvis', 'right_hip', 'right_knee'), (17, 3))
        """
        from dataclasses import replace

        from .mapping import JointMapping
        from .skeletons import get_skeleton

        mapping = JointMapping(get_skeleton(self.joint_names_skeleton), get_skeleton(skeleton))
        joints = mapping.apply_points(np.asarray(self.joints3d))
        return replace(self, joints3d=joints, joint_names=mapping.target.joints,
                       joint_names_skeleton=mapping.target.name)


class Lifter:
    """Lift 2D keypoints to 3D with sparse shape bases.

    Parameters
    ----------
    bases : str, path or ShapeBases, default "default"
        Shipped bases by name (``"default"`` = ``"cmu"``, learned from the CMU
        MoCap corpus; ``"deepmimic"``, learned from pybullet's DeepMimic clips;
        see ``bases/README.md``), a ``.npz`` written by ``lift2d3d
        learn-bases``, or a :class:`ShapeBases`.
    method : {"convex+refine", "convex", "robust"}
        ``convex``: the convex relaxation alone (ADMM). ``convex+refine``: then
        alternating minimisation of the original problem. ``robust``: both
        with a sparse outlier term for gross 2D errors (weight ``beta``).
    alpha : float, optional
        Sparsity weight (normalised units: the 2D input is scaled to unit RMS
        radius) of the convex relaxation. Default: the value the bases were
        validated with.
    refine_alpha : float, optional
        Sparsity weight of the refinement (default ``alpha / 4``). The L1
        term also charges for the pose's overall size, and a pose seen from
        above or below projects smaller than the same pose seen level, so a
        heavy weight tilts the answer towards a level view: on the Bandai
        Namco takes the recovered camera elevation was 48% short of the
        truth with ``alpha`` in both stages, 37% with ``alpha / 4``
        (camera-frame error 77.0 -> 72.4 mm at the same 54.6 mm PA-MPJPE;
        with 0 the prior is lost: 63.8 mm PA-MPJPE). Measured with
        ``benchmarks/lift_diagnostics.py``.
    symmetry : float, optional
        Weight ``gamma`` of the bone-symmetry term of the refinement (default
        3; 0 turns it off): ``gamma / 2 sum (|left bone| - |right bone|)^2``
        over the mirrored bones of the skeleton (upper arm, forearm, thigh,
        shank, shoulder and hip halves), in normalised units. People are
        left-right symmetric, but sparse combinations of the bases need not
        be, and a wrong rotation is often explained by limbs of unequal
        length: lifted without it, the Bandai Namco poses had a 7.5% median
        left-right length difference (camera-frame error 107 mm in the 10%
        of frames where it was largest, 60 mm in the half where it was
        smallest). With it: PA-MPJPE 54.6 -> 50.1 mm, camera-frame error
        72.4 -> 66.8 mm (5 frames per take), and on the Pose2Sim demo
        single-view lifts 113.4 -> 108.5 mm (weights 1-10 all within 0.3 mm).
    beta : float, optional
        Outlier weight for ``robust`` (normalised units; default 0.04, chosen on
        the shipped bases with 2 of 15 joints grossly wrong). Joints
        whose outlier exceeds 3 beta are dropped and the pose re-solved.
    camera : None, "weak" or Camera, optional
        Weak perspective (default) or pinhole intrinsics for full-perspective
        refinement.
    height : float, optional
        The person's stature in metres, to fix the global scale.
    max_iter : int, optional
        ADMM iteration cap (default 1000).
    tol : float, optional
        Refinement stops when a sweep lowers the objective by less than this
        fraction (default 1e-3).
    admm_tol : float, optional
        ADMM relative residual tolerance ``eps_rel`` (Boyd et al.): default
        5e-4 for ``convex`` (relative objective gap to CVXPY below 1e-3 on the
        benchmark frames) and 3e-2 when a refinement follows. The relaxation
        then only delivers the starting rotation and support: on the Bandai
        Namco takes an early-stopped relaxation (18 iterations) starts the
        refinement as well as a tight one (570 iterations), or better.
    n_starts : int, optional
        Refinement starts (default 1): the rotation read off the relaxation,
        its depth mirror, and the rotations of the next-largest blocks with
        their mirrors; the lowest objective wins.
    n_threads : int, optional
        Threads for batches (default: all cores, or NUMBA_NUM_THREADS).
    depth_weight : float, optional
        Weight of the depth-order hints of :meth:`lift` (default 30, normalised
        units: large, so that a correct hint wins over the prior).

    Examples
    --------
    >>> import numpy as np
    >>> from lift2d3d import Lifter
    >>> lifter = Lifter()
    >>> pose = lifter.bases.mean_pose                      # (3, P) metres
    >>> keypoints = 400.0 * pose[:2].T + [320.0, 240.0]   # a frontal view, pixels
    >>> result = lifter.lift(keypoints)
    >>> result.joints3d.shape, result.status
    ((15, 3), 'ok')
    """

    #: Every parameter and its default (None: worked out at lift time, see :meth:`resolved_params`).
    _DEFAULTS = dict(bases="default", method="convex+refine", alpha=None, beta=None, camera=None, height=None,
                     max_iter=None, tol=None, admm_tol=None, n_starts=None, n_threads=None, refine_alpha=None,
                     symmetry=None, depth_weight=None)

    def __init__(self, bases="default", method="convex+refine", alpha=None, beta=None, camera=None,
                 height=None, max_iter=None, tol=None, admm_tol=None, n_starts=None, n_threads=None,
                 refine_alpha=None, symmetry=None, depth_weight=None):
        self._params = {}
        self.set_params(bases=bases, method=method, alpha=alpha, beta=beta, camera=camera, height=height,
                        max_iter=max_iter, tol=tol, admm_tol=admm_tol, n_starts=n_starts, n_threads=n_threads,
                        refine_alpha=refine_alpha, symmetry=symmetry, depth_weight=depth_weight)

    # ------------------------------------------------------------ parameters
    def get_params(self, deep: bool = False) -> dict:
        """The constructor's arguments as given (scikit-learn style): ``Lifter(**lifter.get_params())``
        builds the same lifter.  Defaults that depend on others (``refine_alpha = alpha / 4``, the bases'
        own ``alpha``) stay ``None`` here and are worked out at lift time (:meth:`resolved_params`)."""
        return dict(self._params)

    def set_params(self, **params) -> "Lifter":
        """Set parameters by name (checked as the constructor checks them); returns the lifter."""
        unknown = sorted(set(params) - set(self._DEFAULTS))
        if unknown:
            raise ValueError(f"unknown Lifter parameter(s) {', '.join(unknown)}; the parameters are "
                             f"{', '.join(self._DEFAULTS)}")
        checked = {name: _check_param(name, value) for name, value in params.items()}
        self._params.update(checked)
        if "bases" in checked:
            self._shape_bases = ShapeBases.load(checked["bases"])
            self._prepare()
        return self

    def resolved_params(self) -> dict:
        """Every parameter's effective value now (the defaults of the ``None`` ones worked out)."""
        p = self._params
        alpha = float(self._shape_bases.alpha if p["alpha"] is None else p["alpha"])
        return dict(
            bases=p["bases"], method=p["method"], alpha=alpha,
            refine_alpha=float(alpha / 4 if p["refine_alpha"] is None else p["refine_alpha"]),
            beta=float(0.04 if p["beta"] is None else p["beta"]), camera=p["camera"], height=p["height"],
            max_iter=int(1000 if p["max_iter"] is None else p["max_iter"]),
            tol=float(1e-3 if p["tol"] is None else p["tol"]),
            admm_tol=float((5e-4 if p["method"] == "convex" else 3e-2) if p["admm_tol"] is None else p["admm_tol"]),
            n_starts=int(1 if p["n_starts"] is None else p["n_starts"]),
            n_threads=int(default_threads() if p["n_threads"] is None else p["n_threads"]),
            symmetry=float(3.0 if p["symmetry"] is None else p["symmetry"]),
            depth_weight=float(DEPTH_WEIGHT if p["depth_weight"] is None else p["depth_weight"]))

    def _solver_options(self, resolved) -> SolverOptions:
        r, camera = resolved, resolved["camera"]
        return solver_options(r["method"], r["alpha"], r["refine_alpha"], r["beta"], r["max_iter"], r["admm_tol"],
                              r["tol"], r["n_starts"], r["depth_weight"], DEPTH_MARGIN, DEPTH_TOLERANCE,
                              focal=None if camera is None else camera.focal,
                              principal=(0.0, 0.0) if camera is None else camera.principal)

    # ------------------------------------------------------------------ setup
    def _prepare(self):
        B = self._shape_bases.bases
        mean = self._shape_bases.mean_pose - self._shape_bases.mean_pose.mean(axis=1, keepdims=True)
        # internal units: the mean pose has unit RMS radius, as the normalised 2D input does
        self._kappa = float(np.sqrt((mean ** 2).sum(axis=0).mean()))
        self._edges = np.ascontiguousarray(self._shape_bases.skeleton.edge_indices(), dtype=np.int64)
        # the body's lateral axis (left minus right joints of the mean pose), for depth-mirrored starts
        sk = self._shape_bases.skeleton
        left = [i for i, j in enumerate(sk.joints) if sk.side(j) == "left"]
        right = [i for i, j in enumerate(sk.joints) if sk.side(j) == "right"]
        mean_pose = self._shape_bases.mean_pose
        lateral = mean_pose[:, left].mean(axis=1) - mean_pose[:, right].mean(axis=1)
        chains = [[sk.index(f"{side}_{j}") for j in joints] for side in ("left", "right")
                  for joints in (("shoulder", "elbow", "wrist"), ("hip", "knee", "ankle"))
                  if all(f"{side}_{j}" in sk._index for j in joints)]
        self._model = solver_model(B / self._kappa, lateral / np.linalg.norm(lateral), self._edges,
                                   np.zeros((0, len(self._edges))), np.array(chains, dtype=np.int64).reshape(-1, 3))
        self._ref_bones = self._shape_bases.bone_lengths()
        stature = self._shape_bases.metadata.get("stature_m")
        self._stature_ref = float(stature) if stature else self._chain_height(mean_pose) + 0.18

    @property
    def bases(self) -> ShapeBases:
        """The loaded :class:`ShapeBases` (``get_params()["bases"]`` is the argument as given)."""
        return self._shape_bases

    @bases.setter
    def bases(self, value):
        self.set_params(bases=value)

    def _bone_terms(self, symmetry=None):
        """Rows of the refinement's bone-length term M_b (see :mod:`lift2d3d.solvers.terms`):
        ``sqrt(symmetry) (e_left - e_right)`` per mirrored bone pair."""
        symmetry = self.resolved_params()["symmetry"] if symmetry is None else symmetry
        sk = self.bases.skeleton
        edge_of = {tuple(e): i for i, e in enumerate(self._edges.tolist())}
        rows = []
        if symmetry > 0:
            for a, b, a2, b2 in sk.mirrored_bones():
                row = np.zeros(len(edge_of))
                row[edge_of[(a, b)]] = 1.0
                row[edge_of[(a2, b2)]] = -1.0
                rows.append(np.sqrt(symmetry) * row)
        return np.ascontiguousarray(np.array(rows, dtype=np.float64).reshape(-1, len(edge_of)))

    def _chain_height(self, pose):
        """Ankle-knee-hip-pelvis-neck-head chain length (metres), both sides averaged."""
        sk = self.bases.skeleton
        total = 0.0
        for side in ("left", "right"):
            chain = [f"{side}_ankle", f"{side}_knee", f"{side}_hip", "pelvis", "neck", "head"]
            idx = [sk.index(j) for j in chain]
            total += sum(np.linalg.norm(pose[:, a] - pose[:, b]) for a, b in zip(idx[:-1], idx[1:]))
        return total / 2

    @property
    def joint_names(self) -> tuple:
        """The bases' joints, in the order ``lift`` expects and returns."""
        return self.bases.joint_names

    @property
    def skeleton(self):
        return self.bases.skeleton

    def __repr__(self):
        given = {k: v for k, v in self._params.items() if v is not None and v != self._DEFAULTS[k]}
        if isinstance(given.get("bases"), ShapeBases):
            given["bases"] = f"<ShapeBases {given['bases'].metadata.get('source', '?')!r}>"
        return "Lifter(" + ", ".join(f"{k}={v!r}" if k != "bases" or not str(v).startswith("<") else f"{k}={v}"
                                     for k, v in given.items()) + ")"

    def describe(self) -> str:
        """One line with every effective setting (for logs)."""
        r = self.resolved_params()
        cam = "weak" if r["camera"] is None else f"Camera(focal={r['camera'].focal}, principal={r['camera'].principal})"
        return (f"bases {self.bases.metadata.get('source', '?')!r} (K={self.bases.n_bases}, P={self.bases.n_joints}), "
                f"method {r['method']}, alpha {r['alpha']:g}, refine_alpha {r['refine_alpha']:g}, symmetry "
                f"{r['symmetry']:g}, camera {cam}")

    # ------------------------------------------------------------- validation
    def _as_bases_order(self, keypoints2d, scores, skeleton, image_size):
        """Keypoints (and scores) in the bases' joint order and in pixels."""
        from .pixels import check_image_size, normalised_rows, to_pixels
        from .skeletons import get_skeleton

        source_check = None
        if skeleton is not None:
            try:
                source = get_skeleton(skeleton)
            except KeyError as exc:
                raise ValueError(exc.args[0]) from None
            if source.joints != self.skeleton.joints:
                from .mapping import JointMapping

                kp = np.asarray(keypoints2d)
                single = kp.ndim == 2
                if kp.ndim not in (2, 3) or kp.shape[-2:] != (source.n_joints, 2):
                    raise ValueError(f"Expected {source.name} keypoints of shape ({source.n_joints}, 2) or "
                                     f"(n_frames, {source.n_joints}, 2) in the order {', '.join(source.joints)}; "
                                     f"got {kp.shape}")
                # checked in the input's own joint order, so that no bad value is mapped away unseen
                source_check = check_keypoints(keypoints2d, scores, source.joints)
                mapping = JointMapping(source, self.skeleton)
                if not (mapping.direct or mapping.derived):
                    raise ValueError(f"no joint of {source.name} maps onto the bases' skeleton {self.skeleton.name}")
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

    def _validate(self, keypoints2d, scores, source_check=None):
        P = self.bases.n_joints
        kp = np.asarray(keypoints2d)
        if kp.ndim not in (2, 3) or kp.shape[-2:] != (P, 2):
            from .skeletons import SKELETONS

            guess = [s.name for s in SKELETONS.values() if kp.ndim in (2, 3) and kp.shape[-2:] == (s.n_joints, 2)]
            hint = (f"these look like {' or '.join(guess)} keypoints: pass skeleton={guess[0]!r}" if guess else
                    f"pass skeleton=NAME for another joint order ({', '.join(SKELETONS)})")
            raise ValueError(f"Expected 2D keypoints of shape ({P}, 2) or (n_frames, {P}, 2) in the order "
                             f"{', '.join(self.joint_names)}; got {kp.shape}; {hint}, or read a file with "
                             "lift2d3d.read_keypoints(...) and lift table.for_lifter(lifter).")
        # the one validation the readers use too (lift2d3d.mapping.check_keypoints)
        check = check_keypoints(keypoints2d, scores, self.joint_names)
        single, status, reasons = check.single, check.status, check.messages
        if source_check is not None:          # what the input's own skeleton showed before mapping
            for n in np.flatnonzero(source_check.status != 0):
                status[n], reasons[n] = source_check.status[n], source_check.messages[n]
        w = check.scores
        w[status != 0] = 0.0
        kp = np.nan_to_num(check.keypoints, nan=0.0)
        used = (w > 0).sum(axis=1)
        for n in np.flatnonzero((used < MIN_JOINTS) & (status == 0)):
            present = [self.joint_names[j] for j in np.flatnonzero(w[n] > 0)]
            status[n] = _status.TOO_FEW_JOINTS
            reasons[n] = (f"only {used[n]} usable joint(s) ({', '.join(present) or 'none'}); at least "
                          f"{MIN_JOINTS} are needed")
        if single and status[0] != 0:
            raise ValueError(f"cannot lift this pose: {reasons[0]}")
        return np.ascontiguousarray(kp.transpose(0, 2, 1)), np.ascontiguousarray(w), status, reasons, single

    # ------------------------------------------------------------------ lift
    def lift(self, keypoints2d, scores=None, *, skeleton=None, image_size=None, depth_order=None) -> LiftResult:
        """Lift one pose ``(P, 2)`` or a batch ``(N, P, 2)`` of pixel keypoints.

        Parameters
        ----------
        keypoints2d : (P, 2) or (N, P, 2) array_like, pixels
            In :attr:`joint_names` order, or in ``skeleton``'s; NaN marks a
            missing joint.
        scores : (P,) or (N, P) array_like, optional
            Per-joint confidence used as weights; 0 = missing.
        skeleton : str or Skeleton, optional
            The joint order of ``keypoints2d`` when it is not the bases'
            (``"coco17"``, ``"h36m17"``, ``"openpose25"``, ``"blazepose33"``,
            ...): joints are mapped by name, derived ones included (pelvis =
            mid-hips, ...; see :mod:`lift2d3d.mapping`).
        image_size : (width, height), optional
            Convert keypoints normalised to the image (MediaPipe's landmarks
            in [0, 1]) to pixels first.  Without it such keypoints are lifted
            but flagged ``suspect_input``.
        depth_order : list of (joint_a, relation, joint_b), optional
            Ordinal depth hints (:mod:`lift2d3d.depth_order`): ``"<"``, joint_a
            is nearer the camera than joint_b; ``">"``, farther; ``"="``, at
            about the same depth.  For one pose a list of relations; for a batch
            one list per frame, or ``{frame index: relations}``.  They are
            enforced as hinge penalties (``depth_weight``) and the refinement
            starts from the limb-depth reflection that satisfies most of them,
            so a hint flips a segment rather than bending it.  Unknown joints,
            missing joints and contradictions make the frame ``bad_input``.

        Returns
        -------
        LiftResult
            A single pose raises ValueError when it cannot be lifted; a batch
            reports such frames in ``status`` and ``message`` instead.  Input
            that can be told implausible (normalised coordinates, a scrambled
            joint order, left and right swapped for half the body) gets status
            ``suspect_input`` with the likely cause (:mod:`lift2d3d.plausibility`).

        Examples
        --------
        >>> import numpy as np
        >>> from lift2d3d import Lifter
        >>> from lift2d3d.mapping import JointMapping
        >>> lifter = Lifter()
        >>> body15 = 400.0 * lifter.bases.mean_pose[:2].T + [320.0, 240.0]
        >>> to_coco = JointMapping("body15", "coco17")          # a COCO-17 view of the same pose
        >>> coco, coco_scores = to_coco.apply(body15[None], np.ones((1, 15)))
        >>> lifter.lift(coco[0], coco_scores[0], skeleton="coco17").status
        'ok'
        """
        keypoints2d, scores, source_check = self._as_bases_order(keypoints2d, scores, skeleton, image_size)
        return self._lift(keypoints2d, scores, self._bone_terms(), depth_order, source_check)

    def lift_sequence(self, keypoints2d, scores=None, proportions_weight=1.0, *, frames=None, smoothness=1.0,
                      max_gap=10.0, fps=30.0, window=256, overlap=32, fix_swaps=None, skeleton=None,
                      image_size=None, depth_order=None) -> LiftResult:
        """Lift the frames ``(N, P, 2)`` of one person in a video jointly: smooth motion, shared proportions.

        Every frame is first lifted on its own (:meth:`lift`); then all
        frames are refined together (:mod:`lift2d3d.solvers.temporal`,
        objective (4)): each frame's own objective, plus ``smoothness``
        times the squared acceleration of its camera-frame joints (second
        differences over the real time steps, in the image's units), plus
        ``proportions_weight / 2 sum_b (l_b - rho_b sum l)^2`` pulling every
        frame's bone lengths ``l`` towards the person's proportions ``rho``
        (the per-bone medians of the per-frame lifts).  Rotation and
        coefficients of all frames are fitted in one Levenberg-Marquardt
        iteration whose normal matrix is block-pentadiagonal, so the cost
        grows linearly with the number of frames; long sequences are cut
        into windows of ``window`` frames overlapping by ``overlap``, whose
        solutions are blended across the overlaps
        (:mod:`lift2d3d.solvers.windows`).  Frames whose left and right
        arms or legs a detector swapped are found from the 2D motion and
        swapped back first (``fix_swaps``).

        Measured with ``benchmarks/temporal.py`` (clips of 60 frames at
        30 fps, one fixed camera per clip, 12 limb joints; PA-MPJPE /
        camera-frame error in mm, acceleration error in mm/frame^2, per
        frame -> temporal):

        * CMU corpus (tuning data; DeepMimic bases), 1 px: 40 DeepMimic-retargeted clips and
          10 synthetic ones 69.1 / 86.0 / 49.7 -> 62.6 / 77.7 / 12.6; 30
          clips of the BVH conversion 62.4 / 79.2 / 47.4 -> 57.9 / 73.5 /
          13.2; with 5 % of the frames' arms or legs swapped 78.3 / 96.5 /
          98.6 -> 66.6 / 79.6 / 16.1 (74.3 / 91.5 / 61.8 with
          ``fix_swaps=False``);
        * Bandai Namco (validation only, 30 clips): 1 px 56.6 / 76.6 / 44.4
          -> 53.7 / 73.1 / 7.7; 4 px and 10 % of the joints missing
          73.8 / 98.0 / 141.6 -> 60.8 / 81.3 / 20.6 (with the DeepMimic
          bases; with the CMU bases, the default, 51.8 / 74.2 / 44.0 ->
          49.4 / 70.9 / 6.9 and 68.1 / 88.4 / 145.4 -> 54.5 / 69.7 / 22.6).

        The jitter goes (acceleration error 0.15-0.28 of per frame); depth
        errors that persist over many frames, which the shape prior prefers
        frame after frame, stay.  One core lifts about 900 frames per second
        this way (1,900 frame by frame; ``--speed 10000``).

        Parameters
        ----------
        keypoints2d : (N, P, 2) array_like, pixels
            Frames of a single person, in any order (see ``frames``).
        scores : (N, P) array_like, optional
            Per-joint confidences, used as weights (0 = missing).
        proportions_weight : float
            Weight of the pull towards the shared proportions (0: off; on
            the CMU clips 0, 0.3, 1, 3 gave PA-MPJPE ratios 0.96, 0.93, 0.92,
            0.91).
        frames : (N,) array_like of numbers, optional
            Frame numbers (time, in frames): the frames are solved in this
            order, a step of more than one frame counts as that much time,
            and a gap longer than ``max_gap`` frames splits the sequence.
            Default ``0 .. N-1`` (the rows are consecutive frames).
            Results come back in the order of the rows.
        smoothness : float
            Weight of the acceleration term (0: no coupling, for frames that
            are not a video, e.g. several views of one body: each frame is
            then refined with the shared proportions alone).  On the CMU
            clips above, 0.3, 1,
            3, 10 gave PA-MPJPE ratios 0.91, 0.92, 0.93, 0.95 and
            acceleration-error ratios 0.29, 0.23, 0.20, 0.19: 1 trades the
            two.  Chosen at 30 frames per second.
        max_gap : float
            Frames further apart than this (frames of the video) are not coupled.
        fps : float
            The video's frame rate: the weights act on accelerations in
            physical time (per 1/30 s squared), so that they mean the same
            at any frame rate.
        window, overlap : int
            Frames per window and frames two consecutive windows share
            (at most ``window / 2``).  A window's solution depends on its
            frames only, so a pipeline that streams a person's rows through
            the windows of :func:`~lift2d3d.solvers.windows.plan_windows`
            gets the same numbers.
        fix_swaps : bool, optional
            Find the frames where a 2D detector swapped the left and right
            arms or legs (their keypoints jump to the other side and back:
            :mod:`lift2d3d.solvers.labels`) and lift them with the labels
            swapped back; their ``message`` says so.  Default: when
            ``smoothness > 0`` (the frames are a video).
        skeleton, image_size, depth_order
            As for :meth:`lift`.

        Returns
        -------
        LiftResult
            Frames the per-frame lift could not lift are reported as
            :meth:`lift` reports them (and are gaps for their neighbours).

        Raises
        ------
        ValueError
            For a frame number that is not finite, or one that appears twice
            (two poses of one person at one time: split the people first).
        """
        from .plausibility import MAX_RELATIVE_REPROJECTION
        from .solvers.temporal import TemporalOptions
        from .solvers.windows import solve_sequence

        if np.ndim(keypoints2d) != 3:
            raise ValueError("lift_sequence expects frames of shape (n_frames, n_joints, 2); "
                             f"got {np.shape(keypoints2d)} (use lift() for a single pose)")
        for name, value in (("proportions_weight", proportions_weight), ("smoothness", smoothness),
                            ("max_gap", max_gap), ("fps", fps)):
            if not (isinstance(value, (int, float, np.number)) and np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a non-negative number; got {value!r}")
        if not fps > 0:
            raise ValueError(f"fps must be a positive number; got {fps!r}")
        keypoints2d, scores, source_check = self._as_bases_order(keypoints2d, scores, skeleton, image_size)
        # time in units of 1/30 s, the frame rate the weights were chosen at
        unit = _TEMPORAL_FPS / float(fps)
        times = _sequence_times(frames, np.shape(keypoints2d)[0]) * unit
        max_gap = float(max_gap) * unit
        Wpx, w, status, reasons, single = self._validate(keypoints2d, scores, source_check)
        hints = self._encode_hints(depth_order, w, status, reasons, single)
        if fix_swaps is None:
            fix_swaps = smoothness > 0
        swapped = (self._unswap(Wpx, w, times, max_gap, window, overlap) if fix_swaps
                   else np.zeros(len(times), dtype=np.int64))
        resolved = self.resolved_params()
        X, R, c, E, info, model, opts = self._solve_frames(Wpx, w, status, self._bone_terms(), resolved, hints)
        if smoothness > 0 or proportions_weight > 0:
            _prepare_kernels(self, opts, temporal=True)
            order = np.argsort(times, kind="stable")
            arrays = [Wpx, w, status, X, R, c, E, info]
            Wo, wo, so, Xo, Ro, co, Eo, io = [np.ascontiguousarray(a[order]) for a in arrays]
            # the per-frame data of the model (depth-order relations) follows the frames into time order
            model = model._replace(hints=np.ascontiguousarray(model.hints[order]),
                                   n_hints=np.ascontiguousarray(model.n_hints[order]))
            topts = TemporalOptions(smoothness=float(smoothness), max_gap=float(max_gap), max_iter=_TEMPORAL_ITERATIONS,
                                    tol=resolved["tol"], cap=min(2 * self.bases.n_joints, self.bases.n_bases),
                                    n_posit=_TEMPORAL_POSIT_ROUNDS, robust_scale=_TEMPORAL_ROBUST_SCALE)
            drifted = np.zeros(len(times), dtype=bool)
            drifted[order] = solve_sequence(Wo, wo, so, times[order], model, opts, topts, float(proportions_weight),
                                            Xo, Ro, co, Eo, io, window, overlap,
                                            max_drift=_TEMPORAL_MAX_DRIFT * MAX_RELATIVE_REPROJECTION,
                                            n_threads=resolved["n_threads"])
            for a, ao in zip([status, X, R, c, E, info], [so, Xo, Ro, co, Eo, io]):
                a[order] = ao
        else:
            drifted = np.zeros(len(times), dtype=bool)
        result = self._assemble(Wpx, X, R, c, E, info, status, reasons, w, single, resolved)
        if swapped.any() or drifted.any():
            from dataclasses import replace

            what = {1: "arms", 2: "legs", 3: "arms and legs"}
            message = result.message.astype(object)
            for n in np.flatnonzero(drifted):
                message[n] = ("lifted on its own: the temporal fit left its keypoints (a motion too fast for "
                              f"smoothness={smoothness:g}, or a cut in the video); {message[n]}")
            for n in np.flatnonzero(swapped):
                message[n] = (f"left and right {what[int(swapped[n])]} swapped back (they jumped against the "
                              f"neighbouring frames); {message[n]}")
            result = replace(result, message=message.astype(str))
        return result

    def _unswap(self, Wpx, w, times, max_gap, window, overlap):
        """Swap back, in place, the frames whose left and right arms or legs a detector swapped
        (:func:`lift2d3d.solvers.labels.label_path`, over each window of the sequence; a frame takes the
        choice of its window's :func:`~lift2d3d.solvers.windows.owners`); returns each frame's state
        (0: as given, 1: arms, 2: legs, 3: both swapped back)."""
        from .solvers.labels import SWAP_PENALTY, label_path
        from .solvers.temporal import acceleration_rows
        from .solvers.windows import owners, plan_windows

        perms = self._swap_permutations()
        order = np.argsort(times, kind="stable")
        U, wo = np.ascontiguousarray(Wpx[order]), np.ascontiguousarray(w[order])
        sw = np.maximum(wo.sum(axis=1), 1e-300)
        centre = (U * wo[:, None]).sum(axis=2) / sw[:, None]
        sigma = np.sqrt((wo * ((U - centre[:, :, None]) ** 2).sum(axis=1)).sum(axis=1) / sw)
        sigma = np.where(sigma > 0, sigma, 1.0)
        plan = plan_windows(len(times), window, overlap)
        owner = owners(plan, len(times))
        states = np.zeros(len(times), dtype=np.int64)
        for k, (start, stop) in enumerate(plan):
            part = slice(start, stop)
            d = np.ascontiguousarray(acceleration_rows(times[order][part], 1.0, max_gap))
            chosen = np.zeros(stop - start, dtype=np.int64)
            label_path(U[part], wo[part], d, sigma[part], perms, SWAP_PENALTY, chosen)
            mine = owner[part] == k
            states[start:stop][mine] = chosen[mine]
        swapped = np.zeros(len(times), dtype=np.int64)
        swapped[order] = states
        for n in np.flatnonzero(swapped):
            Wpx[n] = Wpx[n][:, perms[swapped[n]]]
            w[n] = w[n][perms[swapped[n]]]
        return swapped

    def _swap_permutations(self):
        """Joint permutations (4, P) of the labellings :meth:`_unswap` considers: as given, left and
        right arms swapped, legs swapped, both."""
        sk = self.skeleton
        mirror = np.array(sk.mirror_permutation())
        leg = np.array([any(word in j for word in ("hip", "knee", "ankle", "heel", "toe", "foot")) for j in sk.joints])
        identity = np.arange(sk.n_joints)
        arms = np.where(~leg, mirror, identity)
        legs = np.where(leg, mirror, identity)
        return np.ascontiguousarray(np.stack([identity, arms, legs, mirror]), dtype=np.int64)

    def _encode_hints(self, depth_order, w, status, reasons, single):
        """The depth-order relations as the solver's ``(hints, n_hints)`` (None without any); frames whose
        relations cannot be used become ``bad_input`` (a single pose raises)."""
        if depth_order is None:
            return None
        from .depth_order import encode_relations, frames_of

        hints, n_hints, problems = encode_relations(frames_of(depth_order, len(w), single), self.skeleton, w,
                                                    DEPTH_MARGIN, DEPTH_TOLERANCE)
        for n, problem in enumerate(problems):
            if problem and status[n] == _status.OK:
                status[n] = _status.BAD_INPUT
                reasons[n] = problem
        if single and problems[0]:
            raise ValueError(f"cannot lift this pose: {problems[0]}")
        return hints, n_hints

    def _solve_frames(self, Wpx, w, status, bone_terms, resolved, hints=None):
        """The per-frame solve of validated input: kernel outputs (normalised units), model and options."""
        N, P, K = Wpx.shape[0], self.bases.n_joints, self.bases.n_bases
        X = np.full((N, 3, P), np.nan)
        R = np.full((N, 3, 3), np.nan)
        c = np.full((N, K), np.nan)
        E = np.zeros((N, 2, P))
        info = frame_results(N)
        opts = self._solver_options(resolved)
        hints, n_hints = no_hints(N) if hints is None else hints
        model = self._model._replace(Mb=np.ascontiguousarray(bone_terms, dtype=np.float64), hints=hints,
                                     n_hints=n_hints)
        _prepare_kernels(self, opts, hints=bool(n_hints.any()))
        solve_frames(Wpx, w, status, model, opts, X, R, c, E, info, n_threads=resolved["n_threads"])
        return X, R, c, E, info, model, opts

    def sequence_proportions(self, result):
        """Per-bone median fraction of the total bone length over the lifted frames of ``result``.

        In the order of :meth:`Skeleton.edge_indices`; None when no frame was lifted.
        """
        X = np.asarray(result.joints3d).reshape(-1, self.bases.n_joints, 3)[np.atleast_1d(result.ok)]
        if len(X) == 0:
            return None
        lengths = np.linalg.norm(X[:, self._edges[:, 0]] - X[:, self._edges[:, 1]], axis=-1)
        fractions = np.median(lengths / lengths.sum(axis=1, keepdims=True), axis=0)
        return fractions / fractions.sum()

    def _lift(self, keypoints2d, scores, bone_terms, depth_order=None, source_check=None) -> LiftResult:
        Wpx, w, status, reasons, single = self._validate(keypoints2d, scores, source_check)
        hints = self._encode_hints(depth_order, w, status, reasons, single)
        resolved = self.resolved_params()
        X, R, c, E, info, _, _ = self._solve_frames(Wpx, w, status, bone_terms, resolved, hints)
        return self._assemble(Wpx, X, R, c, E, info, status, reasons, w, single, resolved)

    def _assemble(self, Wpx, X, R, c, E, info, status, reasons, w, single, resolved):
        lifted = status <= _status.NOT_CONVERGED
        # metric scale: least-squares match of the bone lengths to the bases' mean pose
        units_per_m = np.empty(len(status))
        metric_units(X, self._edges, self._ref_bones, units_per_m)
        bad_scale = lifted & ~(units_per_m > 0)
        status[bad_scale] = _status.DEGENERATE
        lifted &= ~bad_scale
        height, camera = resolved["height"], resolved["camera"]
        factor = 1.0 if height is None else height / self._stature_ref
        units_per_m = np.where(lifted, units_per_m, np.nan)
        joints3d = X.transpose(0, 2, 1) / units_per_m[:, None, None] * factor
        sigma = info["sigma"]
        if camera is None:
            scale = sigma * units_per_m / factor
            translation = np.stack([info["t0x"] + sigma * info["tau_x"], info["t0y"] + sigma * info["tau_y"],
                                    np.zeros(len(sigma))], axis=1)
        else:
            translation = (np.stack([info["tau_x"], info["tau_y"], info["tau_z"]], axis=1)
                           / units_per_m[:, None] * factor)
            scale = camera.focal / translation[:, 2]
        coefficients = c / (self._kappa * units_per_m[:, None]) * factor
        n_admm = info["admm_iterations"].copy()
        iterations = n_admm + info["refine_iterations"]
        converged = info["converged"] & lifted
        messages = []
        for n, st in enumerate(status):
            if st == _status.OK:
                messages.append(f"converged ({n_admm[n]} ADMM iterations, {iterations[n] - n_admm[n]} "
                                "refinement sweeps)")
            elif st == _status.NOT_CONVERGED:
                messages.append(f"not converged after {n_admm[n]} ADMM iterations and "
                                f"{iterations[n] - n_admm[n]} refinement sweeps; best iterate returned "
                                "(raise max_iter or tol)")
            elif reasons[n]:
                messages.append(reasons[n])
            elif st == _status.DEGENERATE:
                messages.append("degenerate input: all used keypoints coincide (or the fit collapsed); "
                                "check the keypoints' units and joint order")
            else:
                messages.append(_status.STATUSES[st].meaning)
        from .plausibility import outlier_notes

        messages = [m + note for m, note in zip(messages, outlier_notes(E, Wpx.transpose(0, 2, 1), w, self.joint_names,
                                                                        lifted))]
        suspect = self._plausibility(Wpx, X, E, w, info, status, lifted, resolved, c)
        for n in np.flatnonzero(suspect != ""):
            status[n] = _status.SUSPECT_INPUT
            messages[n] = f"suspect input: {suspect[n]} ({messages[n]})"
        names = _status.names_of(status)
        for arr in (R, c, coefficients):
            arr[~lifted] = np.nan
        result = dict(joints3d=joints3d, rotation=R, coefficients=coefficients, translation=translation,
                      scale=scale, objective=info["objective"].copy(), iterations=iterations,
                      admm_iterations=n_admm, converged=converged,
                      reprojection_error=np.where(lifted, info["reprojection_error"], np.nan),
                      status=names, message=np.array(messages, dtype=str), outliers=E)
        if single:
            if not lifted[0]:
                raise ValueError(f"cannot lift this pose: {messages[0]}")
            result = {k: (v[0].item() if v[0].ndim == 0 and hasattr(v[0], "item") else v[0])
                      for k, v in result.items()}
            result["status"] = str(result["status"])
            result["message"] = str(result["message"])
            result["converged"] = bool(result["converged"])
            return LiftResult(joint_names=self.joint_names, joint_names_skeleton=self.skeleton.name, **result)
        return LiftResult(joint_names=self.joint_names, joint_names_skeleton=self.skeleton.name, **result)

    def _plausibility(self, Wpx, X, E, w, info, status, lifted, resolved, c=None):
        """Why each lifted frame's input is implausible ("" when it is not): :mod:`lift2d3d.plausibility`.

        The reprojection error is taken over the joints the fit used: the
        robust method's dropped joints (non-zero outliers) do not count.  It
        is judged only after a refinement: the relaxation alone (method
        ``convex``) shrinks poses by design and fits loosely.
        """
        from .plausibility import code_check, gross_outliers, suspect_frames

        keypoints = Wpx.transpose(0, 2, 1)     # (N, P, 2) pixels
        used = w * ~(np.abs(E) > 0).any(axis=1)
        camera = resolved["camera"]
        with np.errstate(invalid="ignore", divide="ignore"):
            if camera is None:
                proj = (info["sigma"][:, None, None] * (X[:, :2] + np.stack([info["tau_x"], info["tau_y"]], 1)[..., None])  # noqa: E501
                        + np.stack([info["t0x"], info["t0y"]], 1)[..., None])
            else:
                proj = (np.asarray(camera.principal)[None, :, None] + camera.focal * X[:, :2] / X[:, 2:3])
            residual = ((proj - Wpx) ** 2).sum(axis=1)
            n_used = (used > 0).sum(axis=1)
            error = np.sqrt(np.where(used > 0, residual, 0.0).sum(axis=1) / n_used)
        return suspect_frames(keypoints, used, error, self.skeleton, lifted & (status <= _status.NOT_CONVERGED),
                              converged=(status == _status.OK) & (resolved["method"] != "convex"),
                              projected=proj.transpose(0, 2, 1),
                              code=None if c is None else code_check(c, self._shape_bases),
                              gross=gross_outliers(E, keypoints, w))


_ANNOUNCED = set()


def _prepare_kernels(lifter, opts, temporal=False, hints=False):
    """Before a cold first run: say so (once per process) and compile the stages (the per-frame ones in two
    processes, the hinted refinement only for a batch with ``hints``; with ``temporal`` the temporal
    solver's)."""
    from .solvers import warm

    key = (temporal, hints, opts.refine, opts.robust, opts.perspective)
    if key in _ANNOUNCED:
        return
    _ANNOUNCED.add(key)
    if temporal:
        from .solvers.windows import uncompiled_stages

        cold = uncompiled_stages(opts)
    else:
        from .solvers.batch import uncompiled_stages

        cold = uncompiled_stages(opts, hints)
    if cold:
        import logging

        what, seconds = ("temporal solver", 25) if temporal else ("solver", 20)
        logging.getLogger("lift2d3d").warning(
            f"lift2d3d: compiling the {what} kernels (first run only, about {seconds} s on 2 cores; numba caches "
            "them on disk for the next runs)")
        method = lifter.resolved_params()["method"]
        if temporal:
            warm.compile_temporal_stages(cold, method, opts.perspective)
        else:
            warm.prepare(cold, method, opts.perspective)


#: Joint iterations of the temporal refinement (each one solves every frame of a window together).
#: On 60 CMU clips (30 DeepMimic-retargeted, 30 BVH, 60 frames, 1 px) and 10 synthetic ones, PA-MPJPE
#: / camera-frame error relative to per frame: 3 iterations 0.93 / 0.92, 5 0.92 / 0.92, 8 0.91 / 0.91
#: (acceleration error 0.28, 0.23, 0.20), at 0.76, 0.94 and 1.26 ms per frame with the per-frame lift.
_TEMPORAL_ITERATIONS = 5
#: Depth-correction rounds of the temporal refinement with a camera: on the 30 DeepMimic-retargeted
#: clips 1, 2, 3 rounds gave camera-frame errors 70.0, 69.4, 69.2 mm (per frame 77.1) at 1.2, 1.8,
#: 2.5 ms per frame.
_TEMPORAL_POSIT_ROUNDS = 2
#: ``c^2`` of the Cauchy loss on each acceleration row (:func:`lift2d3d.solvers.temporal.temporal_value`):
#: a cut in the video, or another person taking over a track, then pulls its neighbours with a bounded
#: force.  On the CMU clips 0 (quadratic), 1 and 3 gave the same errors within 0.3 mm.
_TEMPORAL_ROBUST_SCALE = 3.0
#: A frame whose temporal fit leaves its keypoints by more than this fraction of the plausibility
#: limit (:data:`lift2d3d.plausibility.MAX_RELATIVE_REPROJECTION`, of the pose's size), while its
#: own fit does not, keeps its own lift, so that smoothing alone never makes a frame
#: ``suspect_input`` (before this rule, 1 to 3 of the 3,000 frames of the CMU clips of
#: ``benchmarks/temporal.py`` were, at up to 24 %); a cut in a video is the other case.
_TEMPORAL_MAX_DRIFT = 0.75
#: The frame rate at which the temporal weights were chosen (their time unit is one frame at this rate).
_TEMPORAL_FPS = 30.0


def _sequence_times(frames, n):
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


def default_threads() -> int:
    """Threads a batch uses by default: numba's setting (NUMBA_NUM_THREADS, or all cores)."""
    try:
        import numba

        return int(numba.get_num_threads())
    except Exception:  # numba's threading layer could not start
        return int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1))


def _check_param(name, value):
    """A Lifter parameter, checked (a ValueError names it and says what is allowed); ``None`` = default."""
    if name == "bases":
        return value
    if name == "method":
        if value not in METHODS:
            raise ValueError(f"unknown method {value!r}; choose one of {', '.join(METHODS)}")
        return value
    if name == "camera":
        if value in (None, "weak"):
            return None
        if isinstance(value, dict):
            return Camera(**value)
        if not isinstance(value, Camera):
            raise ValueError(f"camera must be None, 'weak' or Camera(focal=..., principal=(cx, cy)); got {value!r}")
        return value
    if value is None:
        return None
    if name in ("alpha", "refine_alpha", "symmetry", "depth_weight"):
        if not (isinstance(value, (int, float, np.number)) and np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a non-negative number; got {value!r}")
        return float(value)
    if name == "beta":
        if not (isinstance(value, (int, float, np.number)) and np.isfinite(value) and value > 0):
            raise ValueError(f"beta must be a positive number; got {value!r}")
        return float(value)
    if name in ("tol", "admm_tol"):
        if not (isinstance(value, (int, float, np.number)) and value > 0):
            raise ValueError(f"{name} must be positive; got {value!r}")
        return float(value)
    if name == "height":
        if not (isinstance(value, (int, float, np.number)) and np.isfinite(value) and 0.3 < float(value) < 3.0):
            raise ValueError(f"height is the person's stature in metres (0.3-3); got {value!r}")
        return float(value)
    if name in ("max_iter", "n_starts", "n_threads"):
        if int(value) != value or int(value) < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
        return int(value)
    raise ValueError(f"unknown Lifter parameter {name!r}")


def _param_property(name):
    def fget(self):
        return self._params[name]

    def fset(self, value):
        self.set_params(**{name: value})

    return property(fget, fset, doc=f"The ``{name}`` argument as given (None: its default; see "
                                    f":meth:`Lifter.resolved_params`). Setting it re-checks it.")


for _name in Lifter._DEFAULTS:
    if _name != "bases":
        setattr(Lifter, _name, _param_property(_name))
del _name
