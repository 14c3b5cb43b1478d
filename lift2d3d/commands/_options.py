"""The command-line options every lifting command shares: the lifter's flags and the camera, in one place.

``lift``, ``run`` and ``evaluate`` call :func:`add_lifter_arguments` on their
parser and :func:`lifter_from_args` on the parsed arguments, so a Lifter
parameter gets one flag, one help text and one translation into
``Lifter(...)`` for all of them.  (A leading underscore: ``lift2d3d.cli``
makes every other module of this package a sub-command.)

Nothing here imports the solvers, so that ``lift2d3d --help`` stays instant.
"""

from __future__ import annotations

import argparse

from ..options import LOSSES, METHODS, option_fields

__all__ = ["METHODS", "add_lifter_arguments", "lifter_params_from_args", "lifter_from_args", "camera_from_args",
           "check_workers", "add_corpus_arguments", "corpus_prefer"]

#: The Lifter's default method (its signature's; a test checks they agree: importing the lifter here
#: would load its numba kernels on every ``--help``).
DEFAULT_METHOD = "fused"


def _flag(name):
    return "--" + name.replace("_", "-")


def add_lifter_arguments(parser: argparse.ArgumentParser, *, camera: bool = True, workers: bool = True) -> None:
    """Add the lifter's options to a sub-command's parser.

    ``--bases``, ``--method``, ``--network``, ``--temporal-network``, ``--loss``, ``--height`` and one flag per field of
    :class:`lift2d3d.options.Options` (``--alpha``, ``--refine-alpha``, ``--symmetry``, ...: generated
    from the record, with its help and default); with ``camera`` the camera model (``--camera
    weak|perspective``, ``--focal``, ``--principal``), with ``workers`` the solver threads
    (``--workers``).
    """
    group = parser.add_argument_group("lifter")
    group.add_argument("--bases", default="default", metavar="NAME|NPZ",
                       help="shipped bases name or a .npz path (default: %(default)s)")
    group.add_argument("--method", default=DEFAULT_METHOD, choices=METHODS, help="solver (default: %(default)s)")
    group.add_argument("--network", default="default", metavar="NAME|NPZ",
                       help="lifting network of the fused method: shipped name or a .npz path (default: %(default)s)")
    group.add_argument("--temporal-network", default="none", metavar="NAME|NPZ|none",
                       help="temporal lifting network of the fused method over a video (--sequence): shipped name "
                            "(default, causal) or a .npz path; none: --network frame by frame, the better prior on "
                            "held-out clips (default: %(default)s)")
    group.add_argument("--loss", choices=LOSSES,
                       help="data term's loss (default: robust for --method robust, else squared)")
    for name, default, meta in option_fields():
        choices = getattr(meta["check"], "choices", None)
        kind = str if choices else int if isinstance(default, int) and not isinstance(default, bool) else float
        group.add_argument(_flag(name), dest=name, type=kind, choices=choices,
                           metavar=None if choices else meta["metavar"],
                           help=f"{meta['help']} (default: {meta['default_text']})")
    group.add_argument("--height", type=float, metavar="M",
                       help="the person's stature in metres: metric scale (default: the bases' average proportions)")
    if camera:
        group.add_argument("--camera", default="weak", choices=("weak", "perspective"),
                           help="camera model (default: %(default)s); perspective needs --focal and --principal")
        group.add_argument("--focal", type=float, metavar="F", help="focal length in pixels (perspective camera)")
        group.add_argument("--principal", type=float, nargs=2, metavar=("CX", "CY"),
                           help="principal point in pixels (perspective camera)")
    if workers:
        group.add_argument("--workers", type=int, metavar="N", help="threads for the solver (default: all cores)")


def camera_from_args(args):
    """The camera ``--camera weak|perspective --focal F --principal CX CY`` describe (None: weak perspective).

    Raises
    ------
    ValueError
        Naming the option at fault.
    """
    from ..options import Camera

    kind = getattr(args, "camera", "weak")
    focal, principal = getattr(args, "focal", None), getattr(args, "principal", None)
    if kind == "perspective":
        if focal is None or principal is None:
            raise ValueError("--camera perspective needs --focal F and --principal CX CY (pixels)")
        return Camera(focal=focal, principal=tuple(principal))
    if focal is not None or principal is not None:
        raise ValueError("--focal/--principal are only used with --camera perspective")
    return None


def lifter_params_from_args(args) -> dict:
    """The :class:`~lift2d3d.lifter.Lifter` keyword arguments the options describe (None: the default).

    Raises
    ------
    ValueError
        Naming the option at fault.
    """
    temporal = getattr(args, "temporal_network", None)
    params = dict(bases=args.bases, method=args.method, network=args.network, loss=args.loss,
                  temporal_network=None if temporal is None or str(temporal).lower() == "none" else temporal)
    params.update({name: getattr(args, name) for name, _, _ in option_fields()})
    params["height"] = getattr(args, "height", None)
    if hasattr(args, "camera") and hasattr(args, "focal"):
        params["camera"] = camera_from_args(args)
    if hasattr(args, "workers"):
        params["n_threads"] = args.workers
    return params


def check_workers(args) -> None:
    """Run this process's solver on ``--workers`` threads (when given); a ValueError when numba cannot."""
    if getattr(args, "workers", None) is None:
        return
    import numba

    limit = numba.config.NUMBA_NUM_THREADS
    if not 1 <= args.workers <= limit:
        raise ValueError(f"--workers must be between 1 and {limit} (the threads numba was started with)")
    numba.set_num_threads(args.workers)


def lifter_from_args(args, **overrides):
    """``Lifter(**lifter_params_from_args(args), **overrides)``.

    Raises
    ------
    ValueError, BasesFileError
        A bad option (named) or an unusable bases file.
    """
    from ..lifter import Lifter

    return Lifter(**{**lifter_params_from_args(args), **overrides})


def add_corpus_arguments(group, *, thinning: bool = True) -> None:
    """Add the options of a MoCap corpus walk (``--mocap``; :func:`lift2d3d.mocap.read_corpus`) to a group.

    ``--fps``, ``--formats``, ``--keep-duplicate-takes``, ``--amc-fps``; with
    ``thinning`` also ``--min-distance-mm`` (the near-duplicate poses a
    learner drops; an evaluation of videos needs every frame).
    """
    from ..mocap.corpus import AMC_FPS, DEFAULT_FPS, DEFAULT_MIN_DISTANCE_MM, FORMATS

    group.add_argument("--fps", type=float, default=DEFAULT_FPS,
                       help="common frame rate: the nearest recorded frame to each 1/fps step "
                            f"(default {DEFAULT_FPS:g})")
    if thinning:
        group.add_argument("--min-distance-mm", type=float, default=DEFAULT_MIN_DISTANCE_MM,
                           help="drop a pose closer than this (mean joint distance after normalisation and torso "
                                f"alignment) to a pose kept from the same take (default {DEFAULT_MIN_DISTANCE_MM:g}; "
                                "0 keeps all)")
    group.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS),
                       help="formats to use (default all)")
    group.add_argument("--keep-duplicate-takes", action="store_true",
                       help="use every copy of a take found in several formats (default: only the first of "
                            + ", ".join(FORMATS) + ")")
    group.add_argument("--amc-fps", type=float, default=AMC_FPS,
                       help=f"frame rate of AMC files (default {AMC_FPS:g}, CMU's)")


def corpus_prefer(args):
    """The ``prefer`` argument of :func:`lift2d3d.mocap.read_corpus` for the parsed corpus options."""
    from ..mocap.corpus import FORMATS

    return None if args.keep_duplicate_takes else list(FORMATS)
