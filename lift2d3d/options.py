"""A lift's settings, in one record: every tuning knob, its default, its check, and why it is what it is.

:class:`Options` is the one source of the Lifter's tuning parameters: the
:class:`~lift2d3d.lifter.Lifter` takes its fields as keyword arguments and
stores them as given (``get_params()``), the command-line flags of every
lifting command are generated from its fields (``lift2d3d/commands/_options.py``),
and the solver's options record (:func:`lift2d3d.solvers.records.solver_options`)
is built from :meth:`Options.resolve`, which works out the defaults that depend
on others (``refine_alpha = alpha / 4``, the bases' own ``alpha``) at lift time.
A new setting is one field here.

Nothing here imports numpy's heavy neighbours or the solvers, so that
``lift2d3d --help`` stays instant.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields
from numbers import Integral, Real
from typing import Optional, Tuple

__all__ = ["Options", "Camera", "METHODS", "LOSSES", "check_method", "check_loss", "check_camera", "check_height",
           "check_threads", "option_fields", "set_keyword_settings"]

#: The solver methods.  ``fused``: the relaxation, then the refinement with the lifting network's depths as
#: its start and as a prior term (the default); ``convex+refine``: the relaxation, then the refinement of
#: the original problem; ``convex``: the relaxation alone; ``robust``: ``convex+refine`` with the robust
#: loss (kept by its old name: ``method="convex+refine", loss="robust"``).
METHODS = ("fused", "convex+refine", "convex", "robust")
#: The data term's loss: ``squared``, or ``robust`` (an L1 outlier term flags gross 2D errors; flagged
#: joints are dropped and the pose re-solved).
LOSSES = ("squared", "robust")


def _non_negative(name, value):
    if not (isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a non-negative number; got {value!r}")
    return float(value)


def _positive(name, value):
    if not (isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number; got {value!r}")
    return float(value)


def _count(name, value):
    if isinstance(value, bool) or not isinstance(value, (Integral, Real)) or int(value) != value or int(value) < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    return int(value)


def _choice(*allowed):
    def check(name, value):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        return value

    check.choices = allowed
    return check


def _knob(default, check, help, metavar="X", default_text=None):
    """A field of :class:`Options`: its default (None: worked out at lift time), its check, its help line."""
    return field(default=default, metadata=dict(check=check, help=help, metavar=metavar,
                                                default_text=default_text or f"{default}"))


@dataclass(frozen=True)
class Options:
    """The tuning knobs of a lift (keyword arguments of :class:`~lift2d3d.lifter.Lifter`); None: the default.

    Attributes
    ----------
    alpha : float
        Sparsity weight (normalised units: the 2D input is scaled to unit RMS radius) of the convex
        relaxation. Default: the value the bases were validated with.
    refine_alpha : float
        Sparsity weight of the refinement (default ``alpha / 4``). The L1 term also charges for the
        pose's overall size, and a pose seen from above or below projects smaller than the same pose
        seen level, so a heavy weight tilts the answer towards a level view: on the Bandai Namco takes
        the recovered camera elevation was 48% short of the truth with ``alpha`` in both stages, 37%
        with ``alpha / 4`` (camera-frame error 77.0 -> 72.4 mm at the same 54.6 mm PA-MPJPE; with 0
        the prior is lost: 63.8 mm PA-MPJPE). Measured with ``benchmarks/lift_diagnostics.py``.
    symmetry : float
        Weight ``gamma`` of the bone-symmetry term of the refinement (0 turns it off): ``gamma / 2
        sum (|left bone| - |right bone|)^2`` over the mirrored bones (upper arm, forearm, thigh,
        shank, shoulder and hip halves), in normalised units. Sparse combinations of the bases need
        not be symmetric, and a wrong rotation is often explained by limbs of unequal length: lifted
        without it, the Bandai Namco poses had a 7.5% median left-right length difference. With it:
        PA-MPJPE 54.6 -> 50.1 mm, camera-frame error 72.4 -> 66.8 mm (weights 1-10 all within 0.3 mm).
    beta : float
        Outlier weight of the robust loss (normalised units), chosen on the shipped bases with 2 of 15
        joints grossly wrong. Joints whose outlier exceeds 3 beta are dropped and the pose re-solved.
    depth_weight : float
        Weight of the depth-order hints of :meth:`~lift2d3d.lifter.Lifter.lift` (normalised units:
        large, so that a correct hint wins over the prior).
    prior_weight : float
        Weight of the lifting network's depths in the fused method's refinement
        (:mod:`lift2d3d.solvers.terms`, normalised units), chosen on held-out CMU performers
        (``benchmarks/fusion.py``, 3 folds, 2,340 frames, fold networks and bases learned without
        them; PA-MPJPE / camera-frame mm, weak | perspective): 0.01 48.6 / 56.2 | 48.2 / 55.2,
        0.03 46.0 / 54.3 | 44.5 / 52.1, **0.1 44.5 / 53.9 | 43.3 / 51.8**, 0.3 44.4 / 54.5 |
        43.7 / 52.7 (the network alone 46.0 / 55.9 | 45.7 / 54.7, the geometric fit 52.4 / 63.6 |
        53.9 / 65.2); with 6 px noise and 2 joints missing 0.3 is 0.5-1 mm better than 0.1.
    prior_scale : float
        Scale ``c`` of the Cauchy loss on each joint's depth disagreement with the network
        (normalised units, the 2D pose's RMS radius is 1): disagreements well below it count
        quadratically, far beyond it with a bounded force, so that a network that is wrong cannot
        pull the fit off its keypoints.
    max_iter : int
        ADMM iteration cap.
    tol : float
        The refinement stops when a sweep lowers the objective by less than this fraction.
    admm_tol : float
        ADMM relative residual tolerance ``eps_rel`` (Boyd et al.): default 5e-4 for ``convex``
        (relative objective gap to CVXPY below 1e-3 on the benchmark frames) and 3e-2 when a
        refinement follows. The relaxation then only delivers the starting rotation and support: on
        the Bandai Namco takes an early-stopped relaxation (18 iterations) starts the refinement as
        well as a tight one (570 iterations), or better.
    n_starts : int
        Refinement starts: the rotation read off the relaxation, its depth mirror, and the rotations
        of the next-largest blocks with their mirrors; the lowest objective wins.
    fused_start : {"geometric", "reflected", "relaxation", "network"}
        Where the fused method's refinement with the network's prior starts (:mod:`lift2d3d.solvers.fused`):
        ``geometric``, the plain fit's answer (``convex+refine``); ``reflected``, that answer and its
        limb-depth reflection closest to the network's depths, the lower objective winning (1.6x the
        time); ``relaxation``, those two starts read off the relaxation instead (one refinement fewer);
        ``network``, the bases fitted to the network's 3D (no relaxation but for the frames whose fit
        then leaves its keypoints). Chosen on held-out CMU performers (``benchmarks/fusion.py``, as
        ``prior_weight``): ``reflected`` is 0.1-0.4 mm better than ``geometric`` at 1.5x the time,
        ``relaxation`` 0.2-1.2 mm better at 1.5x the time (884 against 1,331 frames/s on one thread),
        ``network`` 0-0.5 mm worse, and ``prior_scale`` 1 within 0.2 mm of 0.3: the fastest start stays.
    """

    alpha: Optional[float] = _knob(None, _non_negative, "sparsity weight of the convex relaxation", "A",
                                   "the bases' own")
    refine_alpha: Optional[float] = _knob(None, _non_negative, "sparsity weight of the refinement", "A", "alpha / 4")
    symmetry: float = _knob(3.0, _non_negative, "weight of the left-right bone-length term (0 = off)", "W")
    beta: float = _knob(0.04, _positive, "outlier weight of the robust loss", "B")
    depth_weight: float = _knob(30.0, _non_negative, "weight of the depth-order hints", "W")
    prior_weight: float = _knob(0.1, _non_negative, "weight of the lifting network's depths (method fused)", "W")
    prior_scale: float = _knob(0.3, _positive, "scale of the Cauchy loss on the network's depths (method fused)",
                               "C")
    max_iter: int = _knob(1000, _count, "ADMM iteration cap", "N")
    tol: float = _knob(1e-3, _positive, "relative objective decrease that ends a refinement", "T")
    admm_tol: Optional[float] = _knob(None, _positive, "ADMM relative residual tolerance", "T",
                                      "5e-4 for convex, 3e-2 otherwise")
    n_starts: int = _knob(1, _count, "refinement starts; the lowest objective wins", "N")
    fused_start: str = _knob("geometric", _choice("geometric", "reflected", "relaxation", "network"),
                             "the fused method's start: the geometric fit's answer, the relaxation's, or the "
                             "network's 3D",
                             "{geometric,reflected,relaxation,network}")

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                object.__setattr__(self, f.name, f.metadata["check"](f.name, value))

    def given(self) -> dict:
        """The fields set to something other than None (the defaults left to lift time stay out)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def resolve(self, method: str, bases_alpha: float) -> dict:
        """Every field's effective value for ``method`` and bases validated with ``bases_alpha``."""
        alpha = float(bases_alpha if self.alpha is None else self.alpha)
        out = {f.name: f.default if getattr(self, f.name) is None else getattr(self, f.name) for f in fields(self)}
        out.update(alpha=alpha, refine_alpha=float(alpha / 4 if self.refine_alpha is None else self.refine_alpha),
                   admm_tol=float((5e-4 if method == "convex" else 3e-2) if self.admm_tol is None else self.admm_tol))
        return out


def option_fields():
    """The fields of :class:`Options` with their defaults (for flags and documentation)."""
    return [(f.name, None if f.default is MISSING else f.default, f.metadata) for f in fields(Options)]


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
        try:
            focal = float(self.focal)
        except (TypeError, ValueError):
            focal = math.nan
        if not math.isfinite(focal) or focal <= 0:
            raise ValueError(f"Camera focal length must be a positive number of pixels; got {self.focal!r}")
        try:
            principal = tuple(float(v) for v in self.principal)
        except (TypeError, ValueError):
            principal = ()
        if len(principal) != 2 or not all(math.isfinite(v) for v in principal):
            raise ValueError(f"Camera principal point must be (cx, cy) in pixels; got {self.principal!r}")
        object.__setattr__(self, "focal", focal)
        object.__setattr__(self, "principal", principal)


def check_method(value):
    if value not in METHODS:
        raise ValueError(f"unknown method {value!r}; choose one of {', '.join(METHODS)}")
    return value


def check_loss(value):
    if value is None:
        return None
    if value not in LOSSES:
        raise ValueError(f"unknown loss {value!r}; choose one of {', '.join(LOSSES)}")
    return value


def check_camera(value):
    """None for weak perspective (None or ``"weak"``), else a :class:`Camera` (a dict of its fields is fine)."""
    if value is None or (isinstance(value, str) and value == "weak"):
        return None
    if isinstance(value, dict):
        return Camera(**value)
    if not isinstance(value, Camera):
        raise ValueError(f"camera must be None, 'weak' or Camera(focal=..., principal=(cx, cy)); got {value!r}")
    return value


def check_height(value):
    if value is None:
        return None
    if not (isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and 0.3 < value < 3.0):
        raise ValueError(f"height is the person's stature in metres (0.3-3); got {value!r}")
    return float(value)


def check_threads(value):
    return None if value is None else _count("n_threads", value)


def set_keyword_settings(owner, given: dict, defaults: dict, what: str) -> None:
    """Set every name of ``defaults`` on ``owner``, from ``given`` where it is there: the keyword settings
    (``**settings``) of an estimator that keeps its signature short; a name ``defaults`` lacks is a
    TypeError, as a function's unknown keyword is, listing ``what`` it takes."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise TypeError(f"{type(owner).__name__} got unexpected keyword argument(s) {', '.join(unknown)}; "
                        f"{what} are {', '.join(defaults)}")
    for name, default in defaults.items():
        setattr(owner, name, given.get(name, default))
