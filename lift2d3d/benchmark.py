"""Speed and optimality benchmark of the solvers (``lift2d3d bench``).

The workload: ``n_frames`` keypoint sets projected from sparse non-negative
combinations of the bases (3-6 atoms, like the codes the bases were learned
with) under random cameras (:data:`BENCH_VIEWS`: azimuth 0-360 deg,
elevation -35..15 deg, roll +-8 deg), 1080p-sized, with 1.5 px of Gaussian
noise.  Timings are wall-clock after a warm-up call (numba cache warm).
"""

from __future__ import annotations

import time

import numpy as np

from .bases import ShapeBases
from .evaluation import camera_rotations as _camera_rotations
from .evaluation import random_angles
from .lifter import Lifter

__all__ = ["synthetic_keypoints", "camera_rotations", "run_benchmark", "ADMM_FLOPS", "BENCH_VIEWS"]

#: The bench's camera draws (degrees; see :func:`camera_rotations`).  Its elevations and rolls are
#: drawn in these ranges and then negated: the bench has always used the opposite signs to the
#: accuracy benchmark's, so in the convention of :mod:`lift2d3d.evaluation` its cameras look at the
#: person mostly from below (elevation -35..15 deg, where ``lift2d3d evaluate`` uses -15..35).  Kept
#: so that its workload, and its figures, stay those it always had.
BENCH_VIEWS = dict(azimuth=(0.0, 360.0), elevation=(-15.0, 35.0), roll=(-8.0, 8.0))


def camera_rotations(n, rng):
    """Rotations (n, 3, 3) from the bases' y-up frame to the camera frame (x right, y down, z away).

    The bench's cameras (:data:`BENCH_VIEWS`) through
    :func:`lift2d3d.evaluation.camera_rotations`.
    """
    angles = random_angles(n, rng, **BENCH_VIEWS)
    angles[:, 1:] *= -1.0      # the bench's elevation and roll signs (see BENCH_VIEWS)
    return _camera_rotations(angles)


def synthetic_keypoints(bases: ShapeBases, n_frames: int, seed: int = 0, noise_px: float = 1.5,
                        n_atoms=(3, 6)):
    """Pixel keypoints (n, P, 2) and their camera-frame 3D poses (n, P, 3) in metres.

    Codes have ``n_atoms`` non-zeros (inclusive range) with Dirichlet weights;
    each pose is rescaled to the mean pose's RMS radius; 500 px per metre,
    centred in a 1920x1080 image.
    """
    rng = np.random.default_rng(seed)
    K = bases.n_bases
    codes = np.zeros((n_frames, K))
    for n in range(n_frames):
        k = rng.integers(n_atoms[0], n_atoms[1] + 1)
        codes[n, rng.choice(K, k, replace=False)] = rng.dirichlet(np.ones(k))
    poses = np.einsum("nk,kaj->nja", codes, bases.bases)
    mean = bases.mean_pose - bases.mean_pose.mean(axis=1, keepdims=True)
    # rescale each pose to the mean pose's RMS radius (sparse mixtures shrink)
    radius = np.sqrt(((poses - poses.mean(axis=1, keepdims=True)) ** 2).sum(axis=2).mean(axis=1))
    poses *= np.sqrt((mean ** 2).sum(axis=0).mean()) / np.maximum(radius, 1e-9)[:, None, None]
    up = int(bases.metadata.get("up_axis", 1))
    if up != 1:
        poses = np.roll(poses, 1 - up, axis=2)
    R = camera_rotations(n_frames, rng)
    cam = np.einsum("nab,njb->nja", R, poses)
    keypoints = 500.0 * cam[..., :2] + np.array([960.0, 540.0]) + rng.normal(0.0, noise_px, cam[..., :2].shape)
    return keypoints, cam


#: Floating-point operations of one ADMM iteration (see README): the
#: (2 x P)(P x 3K) product (4 P 3K), the prox on K 2x3 blocks (~40 K), the
#: dual update and residual sums on 2 x 3K entries (~10 x 6K), and the
#: P x P products of the Woodbury step (~12 P^2).
def ADMM_FLOPS(K, P):
    return 4 * P * 3 * K + 40 * K + 60 * K + 12 * P * P


def _time_lift(lifter, keypoints, threads):
    lifter.set_params(n_threads=threads)
    lifter.lift(keypoints[:64])          # warm-up (compiles or loads the cache)
    start = time.perf_counter()
    result = lifter.lift(keypoints)
    return time.perf_counter() - start, result


def _network_us(network, keypoints) -> float:
    """Microseconds per frame of the lifting network's forward pass alone on ``keypoints`` (one thread)."""
    from .learned import normalise_keypoints

    W, _, _ = normalise_keypoints(keypoints.transpose(0, 2, 1), np.ones(keypoints.shape[:2]))
    w = np.ones(keypoints.shape[:2])
    network.predict(W[:64], w[:64])
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:     # without threadpoolctl the BLAS may use every core: the figure is then not per core
        threadpool_limits = None
    start = time.perf_counter()
    if threadpool_limits is None:
        network.predict(W, w)
    else:
        with threadpool_limits(1):
            network.predict(W, w)
    return 1e6 * (time.perf_counter() - start) / len(W)


def run_benchmark(bases="default", n_frames=10_000, n_gap=20, seed=0, threads=None, out=print, network="default"):
    """Print frames/s, iterations and the objective gap to CVXPY; return the figures as a dict.

    The fused method's row (with the lifting ``network``) says how much of its time the network takes."""
    import numba

    from .solvers.reference import solve_convex_reference

    shape_bases = ShapeBases.load(bases)
    keypoints, _ = synthetic_keypoints(shape_bases, n_frames, seed)
    all_threads = threads or numba.config.NUMBA_NUM_THREADS
    K, P = shape_bases.n_bases, shape_bases.n_joints
    out(f"lift2d3d bench: {n_frames} frames, K={K} bases, P={P} joints, "
        f"{numba.config.NUMBA_NUM_THREADS} threads available")
    figures = {}
    methods = ["convex", "convex+refine"]
    try:
        from .learned import load_network

        network = load_network(network)
        methods.append("fused")
    except Exception as exc:       # no network file: the other methods are still measured
        out(f"  (no fused row: {exc})")
    for method in methods:
        lifter = Lifter(shape_bases, method=method, network=network if method == "fused" else "default")
        for threads_used in sorted({1, all_threads}):
            seconds, result = _time_lift(lifter, keypoints, threads_used)
            fps = n_frames / seconds
            admm = result.admm_iterations.mean()
            sweeps = (result.iterations - result.admm_iterations).mean()
            figures[(method, threads_used)] = dict(fps=fps, admm_iterations=admm, refine_sweeps=sweeps,
                                                   converged=float(np.mean(result.converged)))
            out(f"  {method:14s} {threads_used:2d} thread(s): {fps:9.0f} frames/s  "
                f"({1e6 / fps * threads_used:7.1f} us/frame/core; ADMM iterations {admm:6.1f}, "
                f"refinement sweeps {sweeps:5.1f}, converged {100 * np.mean(result.converged):5.1f}%)")
            if method == "fused" and threads_used == 1:
                net_us = _network_us(network, keypoints)
                figures[("network", 1)] = dict(fps=1e6 / net_us)
                out(f"    of which the network {net_us:7.1f} us/frame ({1e6 / net_us:9.0f} frames/s, one thread), "
                    f"the fit {1e6 / fps - net_us:7.1f} us/frame")
    flops = ADMM_FLOPS(K, P)
    convex = figures[("convex", 1)]
    per_iter_us = 1e6 / convex["fps"] / convex["admm_iterations"]
    out(f"  ADMM: ~{flops / 1e3:.1f} kflop per iteration; {per_iter_us:.2f} us per iteration single-thread "
        f"(frame setup included) = {flops / per_iter_us / 1e3:.2f} GFLOP/s")
    # optimality of the fast solver against the CVXPY reference on a sample
    lifter = Lifter(shape_bases, method="convex")
    sample = keypoints[:n_gap]
    fast = lifter.lift(sample).objective
    gaps = []
    for n in range(n_gap):
        W = sample[n].T - sample[n].T.mean(axis=1, keepdims=True)
        W /= np.sqrt((W ** 2).sum(axis=0).mean())
        _, ref, _ = solve_convex_reference(W, lifter.solver_records()[0].B, lifter.resolved_params()["alpha"])
        gaps.append((fast[n] - ref) / abs(ref))
    gaps = np.array(gaps)
    figures["gap"] = dict(mean=float(gaps.mean()), max=float(np.abs(gaps).max()))
    out(f"  objective gap to CVXPY (method='convex', default tolerance, {n_gap} frames): "
        f"mean {gaps.mean():.2e}, max |gap| {np.abs(gaps).max():.2e}")
    return figures
