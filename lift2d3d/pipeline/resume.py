"""Resuming an interrupted :func:`~.stream.lift_file`: the manifest of a parts folder, and the finished check.

A run keeps its finished chunks in ``<output>.parts/`` beside a
``manifest.json`` naming what produced them: the input file (path, size and
modification time), the reader options, the chunk size and the lifter's
settings (:func:`lifter_settings`, from ``Lifter.get_params()``: the one record
of a lifter's settings, so nothing here lists them by hand).  ``--resume``
continues only a run whose manifest is equal to the new one, and says which
entries differ otherwise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import KeypointFormatError

__all__ = ["MANIFEST", "FORMAT_VERSION", "lifter_settings", "build_manifest", "check_resumable", "input_identity",
           "finished", "output_status_counts", "finished_manifest_path", "write_finished_manifest",
           "check_finished"]

#: The manifest's file name inside the parts folder.
MANIFEST = "manifest.json"
#: Version of the manifest's layout; a parts folder of another version is not resumed.
FORMAT_VERSION = 2


def lifter_settings(lifter) -> dict:
    """``lifter.get_params()`` as JSON: the arguments as given (None = the default, worked out at lift time).

    A :class:`~lift2d3d.lifter.Camera` becomes ``{"focal", "principal"}``, a
    :class:`~lift2d3d.bases.ShapeBases` argument ``{"arrays_sha256"}``, a path
    its text; ``n_threads`` is left out, since threads never change a result.
    """
    settings = {}
    for name, value in sorted(lifter.get_params().items()):
        if name == "n_threads":
            continue
        if hasattr(value, "focal") and hasattr(value, "principal"):
            value = {"focal": float(value.focal), "principal": [float(v) for v in value.principal]}
        elif hasattr(value, "metadata") and hasattr(value, "mean_pose"):
            value = {"arrays_sha256": value.metadata.get("arrays_sha256")}
        elif isinstance(value, os.PathLike):
            value = os.fspath(value)
        settings[name] = value
    return json.loads(json.dumps(settings, default=str))


def input_identity(path) -> dict:
    """Path, size and modification time of an input file (or of a folder's JSON files)."""
    path = Path(path).resolve()
    stat = path.stat()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".json")
        return {"path": str(path), "files": len(files),
                "bytes": sum(p.stat().st_size for p in files),
                "mtime_ns": max((p.stat().st_mtime_ns for p in files), default=0)}
    return {"path": str(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def build_manifest(input, lifter, read: dict, job: dict) -> dict:
    """What a parts folder records about the run that wrote it (JSON): the input's identity, how it is read
    (``read``: ``format``, ``layout``, ``delimiter``, ``chunk_rows``, ``image_size``, ``joint_map``), the
    lifter (the fused method's networks by checksum), and what the job does (``job``: ``sequence``,
    ``write_camera``, ``output_skeleton``, ``depth_order``, and ``fps`` for a sequence, else None)."""
    joint_map = read["joint_map"]
    manifest = {"format_version": FORMAT_VERSION,
                "input": input_identity(input) if Path(input).exists() else str(input),
                "format": read["format"], "layout": read["layout"], "delimiter": read["delimiter"],
                "chunk_rows": int(read["chunk_rows"]), "joint_names": list(lifter.joint_names),
                "bases_sha256": lifter.bases.metadata.get("arrays_sha256"),
                "lifter": lifter_settings(lifter), "sequence": bool(job["sequence"]),
                "image_size": read["image_size"], "write_camera": bool(job["write_camera"]),
                "joint_map": joint_map if joint_map is None or isinstance(joint_map, dict) else str(joint_map),
                "output_skeleton": job.get("output_skeleton"), "depth_order": job.get("depth_order")}
    if lifter.resolved_params()["method"] == "fused":     # the networks' weights, by checksum
        manifest["network_sha256"] = lifter.network.metadata.get("arrays_sha256")
        if job["sequence"] and lifter.temporal_network is not None:
            manifest["temporal_network_sha256"] = lifter.temporal_network.metadata.get("arrays_sha256")
    if job.get("fps") is not None:     # only a sequence's lift depends on them
        from .tables import context_frames

        manifest.update(fps=job["fps"], context_frames=context_frames(lifter, job["fps"]))
    return json.loads(json.dumps(manifest, default=str))


def _differences(previous: dict, manifest: dict) -> list:
    changed = sorted(k for k in set(previous) | set(manifest) if k != "lifter" and previous.get(k) != manifest.get(k))
    before, now = previous.get("lifter") or {}, manifest.get("lifter") or {}
    return changed + sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))


def finished_manifest_path(output) -> Path:
    """Where a finished output's manifest is kept: a hidden file beside it (``.<name>.lift2d3d.json``)."""
    output = Path(output)
    return output.with_name(f".{output.name}.lift2d3d.json")


def write_finished_manifest(output, manifest: dict) -> None:
    """Record what produced a finished ``output`` (so that ``--resume`` can tell it from another run's)."""
    path = finished_manifest_path(output)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(tmp, path)


def check_finished(output, manifest: dict) -> None:
    """Raise KeypointFormatError unless the finished ``output`` was made by a run with ``manifest``.

    ``--resume`` used to call any output newer than its input complete, even
    one made with other options.
    """
    path = finished_manifest_path(output)
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        raise KeypointFormatError(
            f"cannot resume {output}: it exists, but nothing says which options made it ({path} is missing: "
            "an older lift2d3d, or the file was moved); rerun without --resume to lift it again") from None
    if previous != manifest:
        changed = _differences(previous, manifest) if isinstance(previous, dict) else ["manifest"]
        raise KeypointFormatError(
            f"cannot resume {output}: it was made with another {', '.join(changed)}; rerun without --resume to "
            "lift it again with these options")


def check_resumable(previous: dict, manifest: dict, output, parts) -> None:
    """Raise KeypointFormatError, naming what differs, unless ``previous`` (the parts folder's) equals ``manifest``."""
    if previous == manifest:
        return
    if not isinstance(previous, dict) or previous.get("format_version") != manifest["format_version"]:
        raise KeypointFormatError(
            f"cannot resume {output}: {parts} was written by another version of lift2d3d; rerun without "
            "--resume to start again (its finished chunks will be discarded)")
    changed = _differences(previous, manifest)
    raise KeypointFormatError(
        f"cannot resume {output}: the {', '.join(changed)} {'differs' if len(changed) == 1 else 'differ'} from "
        f"the interrupted run's; rerun "
        f"without --resume to start again (the finished chunks in {parts} will be discarded)")


def finished(input, output) -> bool:
    """The output exists and was written after the input last changed."""
    output, input = Path(output), Path(input)
    if not output.is_file() or not input.exists():
        return False
    return output.stat().st_mtime_ns >= input_identity(input)["mtime_ns"]


def output_status_counts(output: Path) -> dict:
    """``{status: rows}`` of a finished lifted output (CSV, JSON or NPZ), read from its status column."""
    output = Path(output)
    suffix = output.suffix.lower()
    try:
        if suffix == ".csv":
            status = pd.read_csv(output, usecols=["status"], dtype=str, keep_default_na=False)["status"]
        elif suffix == ".json":
            with open(output, "r", encoding="utf-8") as handle:
                status = pd.Series([f.get("status") for f in json.load(handle)["frames"]])
        else:
            with np.load(output, allow_pickle=False) as data:
                status = pd.Series(data["status"])
    except (OSError, ValueError, KeyError) as exc:
        raise KeypointFormatError(f"cannot resume {output}: it exists but cannot be read as a lifted table ({exc}); "
                                  "rerun without --resume") from None
    return {str(k): int(v) for k, v in status.value_counts().items()}
