"""Lifter: keypoints -> validated frames -> :func:`lift2d3d.solvers.solve` -> :class:`LiftResult`.

The Lifter is a thin estimator in the scikit-learn style: it stores its
parameters as given (:meth:`Lifter.get_params`, read from its signature and
from the one options record, :class:`lift2d3d.options.Options`), maps and
validates the keypoints, hands the solvers their records
(:mod:`lift2d3d.solvers.records`) and assembles the result
(:mod:`lift2d3d.result`, which also documents the output convention).
"""

from __future__ import annotations

import inspect
import os

import numpy as np

from . import status as _status
from .bases import ShapeBases
from .options import (METHODS, Camera, Options, check_camera, check_height, check_loss, check_method, check_threads,
                      option_fields)
from .inputs import sequence_times, to_bases_order, validate
from .model import bone_terms, solver_setup, swap_permutations
from .result import LiftResult, assemble
from .status import MIN_JOINTS

__all__ = ["Lifter", "LiftResult", "Camera", "MIN_JOINTS", "METHODS"]

#: The Lifter's own parameters (beyond the fields of :class:`~lift2d3d.options.Options`) and their checks.
_CHECKS = dict(bases=lambda value: value, method=check_method, network=lambda value: value,
               temporal_network=lambda value: value, loss=check_loss, camera=check_camera, height=check_height,
               n_threads=check_threads)

#: ``lift_sequence``'s keywords beyond its signature, and their defaults.
_SEQUENCE = dict(smoothness=1.0, max_gap=10.0, window=256, overlap=32, fix_swaps=None, skeleton=None,
                 image_size=None, depth_order=None)


class Lifter:
    """Lift 2D keypoints to 3D with sparse shape bases.

    Parameters
    ----------
    bases : str, path or ShapeBases, default "default"
        Shipped bases by name (``"default"`` = ``"cmu"``, learned from the CMU
        MoCap corpus; ``"deepmimic"``, learned from pybullet's DeepMimic clips;
        see ``bases/README.md``), a ``.npz`` written by ``lift2d3d
        learn-bases``, or a :class:`ShapeBases`.
    method : {"fused", "convex+refine", "convex", "robust"}
        ``fused`` (default): the convex relaxation (ADMM), then a refinement of the
        original problem that starts from, and is pulled towards, the lifting
        network's depths (``network``). ``convex``: the relaxation alone.
        ``convex+refine``: relaxation and refinement, no network (any skeleton's
        bases). ``robust``: ``convex+refine`` with the robust loss.
    network : str, path or LiftingNetwork, default "default"
        The reconstruction component of the ``fused`` method (:mod:`lift2d3d.learned`);
        loaded only when that method runs.
    temporal_network : str, path, TemporalNetwork or None, default None
        The ``fused`` method's prior in :meth:`lift_sequence`: None, ``network``
        frame by frame (the better prior on held-out clips: README, "Video");
        ``"default"``, each frame's from the frames around it
        (:class:`~lift2d3d.learned.TemporalNetwork`); ``"causal"``, before it.
    loss : {"squared", "robust"}, optional
        The data term's loss. ``robust`` adds a sparse outlier term for gross 2D
        errors (weight ``beta``); flagged joints are dropped and the pose
        re-solved. Default: ``robust`` for ``method="robust"``, else ``squared``.
    camera : None, "weak" or Camera, optional
        Weak perspective (default) or pinhole intrinsics for full-perspective
        refinement.
    height : float, optional
        The person's stature in metres, to fix the global scale.
    n_threads : int, optional
        Threads for batches (default: all cores, or NUMBA_NUM_THREADS).
    **options
        The tuning knobs, each documented with its default and the
        measurement behind it in :class:`lift2d3d.options.Options`:
        ``alpha``, ``refine_alpha``, ``symmetry``, ``beta``, ``depth_weight``,
        ``prior_weight``, ``max_iter``, ``tol``, ``admm_tol``, ``n_starts``.

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

    def __init__(self, bases="default", method="fused", *, network="default", temporal_network=None,
                 loss=None, camera=None, height=None, n_threads=None, **options):
        self._params = {}
        self._network = None
        self._temporal_network = None
        self.set_params(**{**dict.fromkeys(_option_names()), **options}, bases=bases, method=method, network=network,
                        temporal_network=temporal_network, loss=loss, camera=camera, height=height,
                        n_threads=n_threads)

    # ------------------------------------------------------------ parameters
    def get_params(self, deep: bool = False) -> dict:
        """The arguments as given (scikit-learn style): ``Lifter(**lifter.get_params())`` builds the same
        lifter.  Defaults that depend on others (``refine_alpha = alpha / 4``, the bases' own ``alpha``)
        stay ``None`` here and are worked out at lift time (:meth:`resolved_params`)."""
        return dict(self._params)

    def set_params(self, **params) -> "Lifter":
        """Set parameters by name (checked as the constructor checks them); returns the lifter."""
        names = _param_names()
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise ValueError(f"unknown Lifter parameter(s) {', '.join(unknown)}; the parameters are "
                             f"{', '.join(names)}")
        mine = {name: _CHECKS[name](value) for name, value in params.items() if name in _CHECKS}
        knobs = {name: value for name, value in params.items() if name not in _CHECKS}
        if knobs:
            current = {name: self._params.get(name) for name in _option_names()}
            checked = Options(**{**current, **knobs})
            mine.update({name: getattr(checked, name) for name in knobs})
        self._params.update(mine)
        if "bases" in mine:
            self._shape_bases = ShapeBases.load(mine["bases"])
            self._model, self._assembly = solver_setup(self._shape_bases)
        if "network" in mine:
            self._network = None
        if "temporal_network" in mine:
            self._temporal_network = None
        return self

    def resolved_params(self) -> dict:
        """Every parameter's effective value now (the defaults of the ``None`` ones worked out)."""
        p = self._params
        method = p["method"]
        resolved = Options(**{name: p[name] for name in _option_names()}).resolve(method, self._shape_bases.alpha)
        resolved.update(bases=p["bases"], method=method, network=p["network"],
                        temporal_network=p["temporal_network"], camera=p["camera"],
                        height=p["height"], loss=p["loss"] or ("robust" if method == "robust" else "squared"),
                        n_threads=int(default_threads() if p["n_threads"] is None else p["n_threads"]))
        return resolved

    def __repr__(self):
        defaults = _defaults()
        given = {k: v for k, v in self._params.items() if v is not None and v != defaults.get(k)}
        if isinstance(given.get("bases"), ShapeBases):
            given["bases"] = f"<ShapeBases {given['bases'].metadata.get('source', '?')!r}>"
        return "Lifter(" + ", ".join(f"{k}={v!r}" if k != "bases" or not str(v).startswith("<") else f"{k}={v}"
                                     for k, v in given.items()) + ")"

    def describe(self) -> str:
        """One line with every effective setting (for logs)."""
        r = self.resolved_params()
        cam = "weak" if r["camera"] is None else f"Camera(focal={r['camera'].focal}, principal={r['camera'].principal})"
        return (f"bases {self.bases.metadata.get('source', '?')!r} (K={self.bases.n_bases}, P={self.bases.n_joints}), "
                f"method {r['method']}, loss {r['loss']}, alpha {r['alpha']:g}, refine_alpha {r['refine_alpha']:g}, "
                f"symmetry {r['symmetry']:g}, camera {cam}")

    # ------------------------------------------------------------------ setup
    @property
    def bases(self) -> ShapeBases:
        """The loaded :class:`ShapeBases` (``get_params()["bases"]`` is the argument as given)."""
        return self._shape_bases

    @bases.setter
    def bases(self, value):
        self.set_params(bases=value)

    def solver_records(self, resolved=None):
        """The solvers' model and options records for the current parameters (``resolved``: those of
        :meth:`resolved_params`), and the lifting network the method needs (None if it needs none)."""
        from .solvers.records import solver_options

        resolved = self.resolved_params() if resolved is None else resolved
        model = self._model._replace(Mb=bone_terms(self.skeleton, resolved["symmetry"]))
        opts = solver_options(resolved)
        network = None
        if opts.prior_weight > 0 or opts.prior_start:
            network = self.network
        return model, opts, network

    @property
    def network(self):
        """The lifting network of the ``fused`` method (:mod:`lift2d3d.learned`), loaded on first use."""
        if self._network is None:
            self._network = self._checked_network("network", "use method='convex+refine' with these bases")
        return self._network

    @property
    def temporal_network(self):
        """The temporal lifting network of the ``fused`` method's :meth:`lift_sequence`
        (:class:`~lift2d3d.learned.TemporalNetwork`; None if ``temporal_network=None``), loaded on first use."""
        if self._temporal_network is None and self._params["temporal_network"] is not None:
            self._temporal_network = self._checked_network("temporal_network", "pass temporal_network=None")
        return self._temporal_network

    def _checked_network(self, name, instead):
        from . import learned

        network = (learned.load_network if name == "network" else learned.load_temporal_network)(self._params[name])
        if tuple(network.joint_names) != tuple(self.joint_names):
            raise ValueError(f"the {name.replace('_', ' ')}'s joints ({', '.join(network.joint_names)}) are not the "
                             f"bases' ({', '.join(self.joint_names)}); {instead}, or a network learned for their "
                             "skeleton")
        return network

    @property
    def joint_names(self) -> tuple:
        """The bases' joints, in the order ``lift`` expects and returns."""
        return self.bases.joint_names

    @property
    def skeleton(self):
        return self.bases.skeleton

    # ------------------------------------------------------------- validation
    def _encode_hints(self, depth_order, w, status, reasons, single):
        """The depth-order relations as the solver's ``(hints, n_hints)`` (None without any); frames whose
        relations cannot be used become ``bad_input`` (a single pose raises)."""
        if depth_order is None:
            return None
        from .depth_order import encode_relations, frames_of
        from .solvers.records import DEPTH_MARGIN, DEPTH_TOLERANCE

        hints, n_hints, problems = encode_relations(frames_of(depth_order, len(w), single), self.skeleton, w,
                                                    DEPTH_MARGIN, DEPTH_TOLERANCE)
        for n, problem in enumerate(problems):
            if problem and status[n] == _status.OK:
                status[n] = _status.BAD_INPUT
                reasons[n] = problem
        if single and problems[0]:
            raise ValueError(f"cannot lift this pose: {problems[0]}")
        return hints, n_hints

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
        from . import solvers

        keypoints2d, scores, source_check = to_bases_order(keypoints2d, scores, skeleton, image_size, self.skeleton)
        Wpx, w, status, reasons, single = validate(keypoints2d, scores, self.joint_names, source_check)
        hints = self._encode_hints(depth_order, w, status, reasons, single)
        resolved = self.resolved_params()
        model, opts, network = self.solver_records(resolved)
        frames = solvers.frames_record(Wpx, w, status, hints)
        solvers.prepare(opts, resolved["method"], hints=bool(frames.n_hints.any()), log=_warn)
        sol = solvers.solve(frames, model, opts, network=network, n_threads=resolved["n_threads"])
        return assemble(frames, sol, reasons, single, self._assembly_for(resolved))

    def _assembly_for(self, resolved):
        return self._assembly._replace(camera=resolved["camera"], height=resolved["height"],
                                       refined=resolved["method"] != "convex")

    def lift_sequence(self, keypoints2d, scores=None, proportions_weight=1.0, *, frames=None, fps=30.0,
                      **sequence) -> LiftResult:
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

        With ``method="fused"`` every frame's prior is the lifting network's 3D
        (``temporal_network``: from the frames around it; None, the default:
        ``network``, frame by frame), in the per-frame lifts and the joint refinement.  The jitter goes
        (acceleration error 0.15-0.3 of per frame); depth errors that persist
        over many frames, which the shape prior prefers frame after frame,
        stay.  Figures (held-out CMU performers, Bandai-Namco-1, speed): the
        README's "Video" section (``lift2d3d evaluate --video``).

        Parameters
        ----------
        keypoints2d : (N, P, 2) array_like, pixels
            Frames of a single person, in any order (see ``frames``).
        scores : (N, P) array_like, optional
            Per-joint confidences, used as weights (0 = missing).
        proportions_weight : float
            Weight of the pull towards the shared proportions (0: off; on the CMU clips 0, 0.3, 1,
            3 gave PA-MPJPE ratios 0.96, 0.93, 0.92, 0.91).
        frames : (N,) array_like of numbers, optional
            Frame numbers (time, in frames): the frames are solved in this
            order, a step of more than one frame counts as that much time,
            and a gap longer than ``max_gap`` frames splits the sequence.
            Default ``0 .. N-1`` (the rows are consecutive frames).
            Results come back in the order of the rows.
        smoothness : float
            Weight of the acceleration term (0: no coupling, for frames that are not a video, e.g.
            several views of one body: the shared proportions alone).  On 60 CMU clips 0.3, 1, 3,
            10 gave PA-MPJPE ratios 0.91, 0.92, 0.93, 0.95 and acceleration-error ratios 0.29,
            0.23, 0.20, 0.19 (geometric fit): 1 trades the two.  Chosen at 30 frames per second.
        max_gap : float
            Frames further apart than this (frames of the video) are not coupled.
        fps : float
            The video's frame rate: the weights act on accelerations in physical time (per 1/30 s
            squared), so that they mean the same at any frame rate; the temporal network sees seconds.
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
        **sequence
            ``smoothness``, ``max_gap``, ``window``, ``overlap``, ``fix_swaps``,
            ``skeleton``, ``image_size``, ``depth_order`` (keywords, above).

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
        from dataclasses import replace

        from . import solvers
        from .solvers.windows import plan_windows, unswap

        unknown = sorted(set(sequence) - set(_SEQUENCE))
        if unknown:
            raise TypeError(f"lift_sequence() got unexpected keyword argument(s) {', '.join(unknown)}")
        seq = {**_SEQUENCE, **sequence}
        if np.ndim(keypoints2d) != 3:
            raise ValueError("lift_sequence expects frames of shape (n_frames, n_joints, 2); "
                             f"got {np.shape(keypoints2d)} (use lift() for a single pose)")
        smoothness = seq["smoothness"]
        for name, value in (("proportions_weight", proportions_weight), ("smoothness", smoothness),
                            ("max_gap", seq["max_gap"]), ("fps", fps)):
            if not (isinstance(value, (int, float, np.number)) and np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a non-negative number; got {value!r}")
        if not fps > 0:
            raise ValueError(f"fps must be a positive number; got {fps!r}")
        keypoints2d, scores, source_check = to_bases_order(keypoints2d, scores, seq["skeleton"], seq["image_size"],
                                                           self.skeleton)
        # time in units of 1/30 s, the frame rate the weights were chosen at
        unit = solvers.TEMPORAL_FPS / float(fps)
        times = sequence_times(frames, np.shape(keypoints2d)[0]) * unit
        max_gap = float(seq["max_gap"]) * unit
        Wpx, w, status, reasons, single = validate(keypoints2d, scores, self.joint_names, source_check)
        hints = self._encode_hints(seq["depth_order"], w, status, reasons, single)
        fix_swaps = smoothness > 0 if seq["fix_swaps"] is None else seq["fix_swaps"]
        plan = plan_windows(len(times), seq["window"], seq["overlap"])
        swapped = (unswap(Wpx, w, times, max_gap, plan, swap_permutations(self.skeleton)) if fix_swaps
                   else np.zeros(len(times), dtype=np.int64))
        resolved = self.resolved_params()
        model, opts, network = self.solver_records(resolved)
        topts = solvers.sequence_options(smoothness, proportions_weight, max_gap, seq["window"], seq["overlap"],
                                         resolved["tol"], self.bases.n_joints, self.bases.n_bases)
        frames = solvers.frames_record(Wpx, w, status, hints)
        solvers.prepare(opts, resolved["method"], hints=bool(frames.n_hints.any()), log=_warn)
        if smoothness > 0 or proportions_weight > 0:
            solvers.prepare(opts, resolved["method"], temporal=True, log=_warn)
        temporal = None if network is None else self.temporal_network
        sol, drifted = solvers.solve_sequence(frames, times, model, opts, topts, network=network,
                                              n_threads=resolved["n_threads"], temporal=temporal)
        result = assemble(frames, sol, reasons, single, self._assembly_for(resolved))
        if swapped.any() or drifted.any():
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

    def sequence_proportions(self, result):
        """Per-bone median fraction of the total bone length over the lifted frames of ``result``.

        In the order of :meth:`Skeleton.edge_indices`; None when no frame was lifted.
        """
        X = np.asarray(result.joints3d).reshape(-1, self.bases.n_joints, 3)[np.atleast_1d(result.ok)]
        if len(X) == 0:
            return None
        edges = self._model.edges
        lengths = np.linalg.norm(X[:, edges[:, 0]] - X[:, edges[:, 1]], axis=-1)
        fractions = np.median(lengths / lengths.sum(axis=1, keepdims=True), axis=0)
        return fractions / fractions.sum()


def _warn(message):
    import logging

    logging.getLogger("lift2d3d").warning(message)


def _option_names():
    return [name for name, _, _ in option_fields()]


def _param_names():
    """The Lifter's parameters in its signature's order, then the options record's fields."""
    own = [name for name in inspect.signature(Lifter.__init__).parameters if name not in ("self", "options")]
    return own + _option_names()


def _defaults():
    """Every parameter's default as written (the signature's, then the options record's)."""
    own = {name: p.default for name, p in inspect.signature(Lifter.__init__).parameters.items()
           if p.default is not inspect.Parameter.empty}
    return {**own, **{name: default for name, default, _ in option_fields()}}


def default_threads() -> int:
    """Threads a batch uses by default: numba's setting (NUMBA_NUM_THREADS, or all cores)."""
    try:
        import numba

        return int(numba.get_num_threads())
    except Exception:  # numba's threading layer could not start
        return int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1))


def _param_property(name):
    def fget(self):
        return self._params[name]

    def fset(self, value):
        self.set_params(**{name: value})

    return property(fget, fset, doc=f"The ``{name}`` argument as given (None: its default; see "
                                    f":meth:`Lifter.resolved_params`). Setting it re-checks it.")


for _name in [n for n in _param_names() if n not in ("bases", "network", "temporal_network")]:
    setattr(Lifter, _name, _param_property(_name))
del _name
