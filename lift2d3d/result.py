"""What a lift returns: :class:`LiftResult`, and its assembly from a solver's solution (metric units, messages,
plausibility).

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

from dataclasses import dataclass, fields, replace

import numpy as np

from . import status as _status

__all__ = ["LiftResult", "assemble", "messages_of"]


@dataclass(frozen=True)
class LiftResult:
    """What :meth:`Lifter.lift <lift2d3d.lifter.Lifter.lift>` returns (per frame for a batch).

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
        with ``refine_alpha`` (and the fused method's prior term) after a refinement.
    iterations : (N,) or int
        ADMM iterations plus refinement sweeps.
    admm_iterations : (N,) or int
    converged : (N,) bool or bool
    reprojection_error : (N,) or float, pixels
        RMS distance between input and reprojected keypoints over used joints.
    status : (N,) str or str
        ``ok``, ``not_converged`` (best iterate returned), ``too_few_joints``,
        ``non_finite``, ``degenerate``, ``suspect_input``, ``bad_input``.
    message : (N,) str or str
        Human-readable explanation.
    outliers : (N, 2, P) or (2, P), pixels
        Estimated gross 2D errors (robust loss; zeros otherwise).
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
        from .mapping import JointMapping
        from .skeletons import get_skeleton

        mapping = JointMapping(get_skeleton(self.joint_names_skeleton), get_skeleton(skeleton))
        joints = mapping.apply_points(np.asarray(self.joints3d))
        return replace(self, joints3d=joints, joint_names=mapping.target.joints,
                       joint_names_skeleton=mapping.target.name)


def messages_of(status, reasons, sol):
    """Each frame's message: its solve's account (iterations) or the reason it was not lifted."""
    info = sol.info
    n_admm = info["admm_iterations"]
    n_refine = info["refine_iterations"]
    messages = []
    for n, st in enumerate(status):
        if st == _status.OK:
            messages.append(f"converged ({n_admm[n]} ADMM iterations, {n_refine[n]} refinement sweeps)")
        elif st == _status.NOT_CONVERGED:
            messages.append(f"not converged after {n_admm[n]} ADMM iterations and {n_refine[n]} refinement sweeps; "
                            "best iterate returned (raise max_iter or tol)")
        elif reasons[n]:
            messages.append(reasons[n])
        elif st == _status.DEGENERATE:
            messages.append("degenerate input: all used keypoints coincide (or the fit collapsed); "
                            "check the keypoints' units and joint order")
        else:
            messages.append(_status.STATUSES[st].meaning)
    return messages


def assemble(frames, sol, reasons, single, asm) -> LiftResult:
    """The :class:`LiftResult` of a solve: metric units, translations, messages, plausibility flags.

    ``frames`` and ``sol`` are the solver's records (:mod:`lift2d3d.solvers.records`), ``reasons`` the
    validation's per-frame messages; ``single`` unwraps a one-frame batch (and raises when that frame
    could not be lifted); ``asm`` is the bases' scale and the lift's settings (:class:`lift2d3d.model.Assembly`).
    """
    from .solvers.batch import metric_units

    status = frames.status
    info = sol.info
    X = sol.X
    lifted = status <= _status.NOT_CONVERGED
    # metric scale: least-squares match of the bone lengths to the bases' mean pose
    units_per_m = np.empty(len(status))
    metric_units(X, asm.edges, asm.ref_bones, units_per_m)
    bad_scale = lifted & ~(units_per_m > 0)
    status[bad_scale] = _status.DEGENERATE
    lifted &= ~bad_scale
    factor = 1.0 if asm.height is None else asm.height / asm.stature_ref
    units_per_m = np.where(lifted, units_per_m, np.nan)
    joints3d = X.transpose(0, 2, 1) / units_per_m[:, None, None] * factor
    sigma = info["sigma"]
    if asm.camera is None:
        scale = sigma * units_per_m / factor
        translation = np.stack([info["t0x"] + sigma * info["tau_x"], info["t0y"] + sigma * info["tau_y"],
                                np.zeros(len(sigma))], axis=1)
    else:
        translation = (np.stack([info["tau_x"], info["tau_y"], info["tau_z"]], axis=1)
                       / units_per_m[:, None] * factor)
        scale = asm.camera.focal / translation[:, 2]
    coefficients = sol.c / (asm.kappa * units_per_m[:, None]) * factor
    n_admm = info["admm_iterations"].copy()
    iterations = n_admm + info["refine_iterations"]
    converged = info["converged"] & lifted
    messages = messages_of(status, reasons, sol)
    from .plausibility import outlier_notes

    notes = outlier_notes(sol.E, frames.Wpx.transpose(0, 2, 1), frames.w, asm.skeleton.joints, lifted)
    messages = [m + note for m, note in zip(messages, notes)]
    suspect = _plausibility(frames, sol, lifted, asm)
    for n in np.flatnonzero(suspect != ""):
        status[n] = _status.SUSPECT_INPUT
        messages[n] = f"suspect input: {suspect[n]} ({messages[n]})"
    names = _status.names_of(status)
    R = sol.R
    for arr in (R, coefficients):
        arr[~lifted] = np.nan
    result = dict(joints3d=joints3d, rotation=R, coefficients=coefficients, translation=translation,
                  scale=scale, objective=info["objective"].copy(), iterations=iterations,
                  admm_iterations=n_admm, converged=converged,
                  reprojection_error=np.where(lifted, info["reprojection_error"], np.nan),
                  status=names, message=np.array(messages, dtype=str), outliers=sol.E)
    names_of_joints = dict(joint_names=asm.skeleton.joints, joint_names_skeleton=asm.skeleton.name)
    if single:
        if not lifted[0]:
            raise ValueError(f"cannot lift this pose: {messages[0]}")
        result = {k: (v[0].item() if v[0].ndim == 0 and hasattr(v[0], "item") else v[0])
                  for k, v in result.items()}
        result["status"] = str(result["status"])
        result["message"] = str(result["message"])
        result["converged"] = bool(result["converged"])
    return LiftResult(**names_of_joints, **result)


def _plausibility(frames, sol, lifted, asm):
    """Why each lifted frame's input is implausible ("" when it is not): :mod:`lift2d3d.plausibility`.

    The reprojection error is taken over the joints the fit used: the robust
    loss's dropped joints (non-zero outliers) do not count.  It is judged only
    after a refinement: the relaxation alone (method ``convex``) shrinks poses
    by design and fits loosely.
    """
    from .plausibility import code_check, gross_outliers, suspect_frames

    Wpx, w, info, X, E = frames.Wpx, frames.w, sol.info, sol.X, sol.E
    keypoints = Wpx.transpose(0, 2, 1)     # (N, P, 2) pixels
    used = w * ~(np.abs(E) > 0).any(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if asm.camera is None:
            proj = (info["sigma"][:, None, None] * (X[:, :2] + np.stack([info["tau_x"], info["tau_y"]], 1)[..., None])
                    + np.stack([info["t0x"], info["t0y"]], 1)[..., None])
        else:
            proj = np.asarray(asm.camera.principal)[None, :, None] + asm.camera.focal * X[:, :2] / X[:, 2:3]
        residual = ((proj - Wpx) ** 2).sum(axis=1)
        n_used = (used > 0).sum(axis=1)
        error = np.sqrt(np.where(used > 0, residual, 0.0).sum(axis=1) / n_used)
    status = frames.status
    return suspect_frames(keypoints, used, error, asm.skeleton, lifted & (status <= _status.NOT_CONVERGED),
                          converged=(status == _status.OK) & asm.refined, projected=proj.transpose(0, 2, 1),
                          code=None if asm.bases is None else code_check(sol.c, asm.bases),
                          gross=gross_outliers(E, keypoints, w))
