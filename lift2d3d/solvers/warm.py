"""Compile the solver stages a lift needs before it runs: in two processes when the cache is cold.

numba compiles each stage kernel on its first call and caches it on disk
(``cache=True``); a cold first run of the default method compiles about
30 s of kernels on one core.  The two large stages are independent, so
:func:`prepare` compiles the refinement stages in a child process while this
process compiles the others, then waits for the child: both land in numba's
on-disk cache, and the lift loads them from there.  Each stage is compiled
by calling it once on a one-frame problem of exactly the types a lift
passes, with no frame active, so nothing is solved.

``python -m lift2d3d.solvers.warm --method convex+refine [--perspective] --stages refine_frames``
is the child's command line.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np

__all__ = ["prepare", "compile_stages", "compile_temporal_stages", "CHILD_STAGES"]

#: Stages compiled in the child process (the refinement: about half of the compile time).
CHILD_STAGES = ("refine_frames", "fused_frames", "geometric_prior_frames", "perspective_frames")


def _probe(method, perspective, P=15, K=8, E=14):
    """Records of every stage for a one-frame block, of the types a lift passes.

    The types depend only on the method and the camera (the fields of the
    records are cast the same way, :func:`~lift2d3d.solvers.records.solver_options`),
    not on the bases or the values, so a small synthetic model compiles the
    same code as the real one.
    """
    from ..options import Camera, Options
    from .records import frames_record, new_solution, new_work, solver_model, solver_options

    rng = np.random.default_rng(0)
    edges = np.array([(j, j + 1) for j in range(E)], dtype=np.int64) % P
    model = solver_model(rng.normal(size=(K, 3, P)), np.array([1.0, 0.0, 0.0]), edges, np.zeros((1, E)),
                         np.zeros((4, 3), dtype=np.int64))
    resolved = Options().resolve(method, 0.03)
    resolved.update(method=method, loss="robust" if method == "robust" else "squared",
                    camera=Camera(1000.0, (0.0, 0.0)) if perspective else None)
    opts = solver_options(resolved)
    frames = frames_record(np.zeros((1, 2, P)), np.ones((1, P)), np.zeros(1, dtype=np.int64))
    sol = new_solution(1, P, K, frames.status)
    work = new_work(1, P, K, sol.info)
    return model, opts, frames, work, sol


def compile_stages(names, method="convex+refine", perspective=False, progress=None) -> None:
    """Compile (or load from the cache) the stages ``names`` for a method and camera; ``progress(name)``
    after each."""
    from . import batch

    model, opts, frames, work, sol = _probe(method, perspective)
    w, none = frames.w, np.zeros(1, dtype=np.bool_)
    calls = {
        "normalise_frames": lambda: batch.normalise_frames(frames, work, none),
        "relax_frames": lambda: batch.relax_frames(model, opts, work, w, none),
        "refine_frames": lambda: batch.refine_frames(frames, model, opts, work, w, none),
        "fused_frames": lambda: batch.fused_frames(frames, model, opts, work, w, none, none.copy()),
        "geometric_prior_frames": lambda: batch.geometric_prior_frames(frames, model, opts, work, w, none),
        "hinted_frames": lambda: batch.hinted_frames(frames, model, opts, work, w, none, np.ones(1, dtype=np.bool_)),
        "trim_frames": lambda: batch.trim_frames(opts, work, w, none, w.copy()),
        "dropped_frames": lambda: batch.dropped_frames(model, work, w, w.copy(), none),
        "convex_objectives": lambda: batch.convex_objectives(model, opts, work, w, none),
        "weak_outputs": lambda: batch.weak_outputs(frames, model, work, none, sol),
        "perspective_frames": lambda: batch.perspective_frames(frames, model, opts, work, w.copy(), none),
        "perspective_outputs": lambda: batch.perspective_outputs(frames, model, opts, work, w.copy(), none, sol),
        "pack_frames": lambda: batch.pack_frames(work, none, sol),
        "metric_units": lambda: batch.metric_units(sol.X, model.edges, np.ones(model.edges.shape[0]), np.zeros(1)),
    }
    for name in names:
        calls[name]()
        if progress is not None:
            progress(name)


def compile_temporal_stages(names, method="convex+refine", perspective=False, progress=None) -> None:
    """Compile (or load from the cache) the temporal stages ``names`` (:mod:`lift2d3d.solvers.temporal`) for a
    method and camera, on a one-frame window whose keypoints are all zero (nothing to solve)."""
    from . import batch, labels, temporal, windows

    model, opts, frames, work, sol = _probe(method, perspective)
    P = frames.w.shape[1]
    topts = temporal.TemporalOptions(smoothness=1.0, max_gap=1.0, max_iter=1, tol=1e-3, cap=2 * P, n_posit=1,
                                     robust_scale=0.0)
    wr = np.ones((1, P))
    none = np.zeros(1, dtype=np.bool_)
    calls = {
        "joint_refine": lambda: temporal.joint_refine(work.W, wr, np.zeros((1, 3)), frames, model, opts, topts,
                                                      np.eye(3)[None].copy(), work.c, np.zeros(1)),
        "weak_targets": lambda: temporal.weak_targets(work.W, wr, work.E, work.W.copy()),
        "label_path": lambda: labels.label_path(frames.Wpx, wr, np.zeros((1, 3)), np.ones(1),
                                                np.zeros((1, P), dtype=np.int64), 1.0, frames.status),
        "bone_fractions": lambda: windows.bone_fractions(sol.X, model.edges, np.zeros((1, model.edges.shape[0]))),
        "perspective_targets": lambda: temporal.perspective_targets(frames.Wpx, wr, model, opts, work.Rbar, work.c,
                                                                    work.info, work.W.copy(), wr.copy()),
        "perspective_outputs": lambda: batch.perspective_outputs(frames, model, opts, work, wr, none, sol),
        "weak_outputs": lambda: batch.weak_outputs(frames, model, work, none, sol),
    }
    for name in names:
        calls[name]()
        if progress is not None:
            progress(name)


def prepare(cold, method="convex+refine", perspective=False, progress=None) -> None:
    """Compile the cold stages ``cold`` (names), the refinement ones in a child process when there are
    two cores or more; a failed child only means this process compiles them itself.

    ``progress(name)`` is called as each stage is ready (this process's as it compiles them, the
    child's as it reports them).
    """
    child_part = [name for name in cold if name in CHILD_STAGES]
    own_part = [name for name in cold if name not in CHILD_STAGES]
    child = None
    if child_part and own_part and (os.cpu_count() or 1) >= 2:
        command = [sys.executable, "-m", "lift2d3d.solvers.warm", "--method", method, "--stages", *child_part]
        if perspective:
            command += ["--perspective"]
        try:
            child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        except OSError:
            child = None
    compile_stages(own_part if child is not None else cold, method, perspective, progress)
    if child is not None:
        try:
            for line in child.stdout:
                if line.startswith("compiled ") and progress is not None:
                    progress(line.split()[1])
            child.wait(timeout=900)
        except subprocess.TimeoutExpired:
            child.kill()
        if child.returncode != 0:       # the child failed: whatever it did not compile is compiled here
            compile_stages(child_part, method, perspective, progress)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="compile lift2d3d solver stages into numba's cache")
    parser.add_argument("--method", default="convex+refine")
    parser.add_argument("--perspective", action="store_true")
    parser.add_argument("--stages", nargs="+", required=True)
    args = parser.parse_args(argv)
    compile_stages(args.stages, args.method, args.perspective, lambda name: print("compiled", name, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
