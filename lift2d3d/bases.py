"""Shape bases: the 3D prior of the lifter, with load/save/validation.

A bases file is a single ``.npz`` read with ``allow_pickle=False`` holding

``bases``
    (n_bases, 3, n_joints) float64, metres.  A pose is ``sum_i c_i B_i``.
``mean_pose``
    (3, n_joints) float64, metres: the mean normalised training pose, used as
    the size reference (bone lengths) and for pictures.
``metadata``
    a 0-d unicode array with JSON: ``skeleton``, ``joint_names``,
    ``n_bases``, ``alpha``, ``source``, ``training_error``, ``sparsity``,
    ``inputs_sha256``, ``format_version`` and ``arrays_sha256`` (the SHA-256
    of the two arrays' bytes, checked on load).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .skeletons import Skeleton, get_skeleton

__all__ = ["ShapeBases", "BasesFileError", "load_bases", "default_bases_path", "SHIPPED_BASES"]

FORMAT_VERSION = 1
REQUIRED_METADATA = ("skeleton", "joint_names", "n_bases", "alpha", "source",
                     "training_error", "sparsity", "inputs_sha256", "format_version", "arrays_sha256")

#: Names of the bases shipped in ``bases/`` (name -> file name): ``cmu`` (the default since 0.2.0),
#: learned from the CMU MoCap corpus, and ``deepmimic`` (0.1's default), learned from pybullet's clips.
SHIPPED_BASES = {"default": "cmu_body15.npz", "cmu": "cmu_body15.npz", "deepmimic": "deepmimic_body15.npz"}

#: How to re-create each shipped file (see bases/README.md, the model card).
_REBUILD = {"cmu_body15.npz": "unpack the CMU MoCap takes listed in bases/cmu_body15_files.csv and run the command "
                              "in bases/README.md",
            "deepmimic_body15.npz": "run `lift2d3d learn-bases --deepmimic -o bases/deepmimic_body15.npz` "
                                    "(needs pybullet)"}


class BasesFileError(ValueError):
    """A bases file is missing, malformed or fails its checksum."""


def _arrays_sha256(bases: np.ndarray, mean_pose: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in (bases, mean_pose):
        array = np.ascontiguousarray(array, dtype="<f8")
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _shipped_dir() -> Path:
    # Installed wheels carry the bases inside the package (lift2d3d/_bases);
    # an editable checkout reads them from the top-level bases/ folder.
    here = Path(__file__).resolve().parent
    for candidate in (here / "_bases", here.parent / "bases"):
        if candidate.is_dir():
            return candidate
    return here.parent / "bases"


def default_bases_path(name: str = "default") -> Path:
    """Path of a shipped bases file by name (``"default"``, ``"cmu"``, ``"deepmimic"``)."""
    if name not in SHIPPED_BASES:
        raise BasesFileError(f"unknown shipped bases {name!r}; shipped: {', '.join(SHIPPED_BASES)}. "
                             "Pass a path to a .npz written by `lift2d3d learn-bases` instead.")
    return _shipped_dir() / SHIPPED_BASES[name]


@dataclass(frozen=True, eq=False)
class ShapeBases:
    """Sparse shape bases over a skeleton.

    Parameters
    ----------
    bases : (n_bases, 3, n_joints) float array, metres
        The atoms ``B_i``; a pose is ``sum_i c_i B_i``.
    mean_pose : (3, n_joints) float array, metres
        Mean training pose (size reference).
    skeleton : Skeleton or str
        The joint set the columns follow.
    metadata : dict
        Model-card fields (see module docstring).

    Examples
    --------
    >>> from lift2d3d import ShapeBases
    >>> bases = ShapeBases.load("default")
    >>> bases.bases.shape[1:]
    (3, 15)
    """

    bases: np.ndarray
    mean_pose: np.ndarray
    skeleton: Skeleton
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        skeleton = get_skeleton(self.skeleton)
        bases = np.ascontiguousarray(self.bases, dtype=np.float64)
        mean_pose = np.ascontiguousarray(self.mean_pose, dtype=np.float64)
        if bases.ndim != 3 or bases.shape[1] != 3:
            raise BasesFileError(f"bases must have shape (n_bases, 3, n_joints); got {bases.shape}")
        if bases.shape[0] < 1:
            raise BasesFileError(f"bases must hold at least one basis pose (n_bases >= 1); got {bases.shape}")
        if bases.shape[2] != skeleton.n_joints:
            raise BasesFileError(f"bases have {bases.shape[2]} joints but skeleton {skeleton.name!r} "
                                 f"has {skeleton.n_joints}")
        if mean_pose.shape != bases.shape[1:]:
            raise BasesFileError(f"mean_pose must have shape {bases.shape[1:]}; got {mean_pose.shape}")
        if not (np.all(np.isfinite(bases)) and np.all(np.isfinite(mean_pose))):
            raise BasesFileError("bases or mean_pose contain NaN or inf")
        bases.setflags(write=False)
        mean_pose.setflags(write=False)
        object.__setattr__(self, "skeleton", skeleton)
        object.__setattr__(self, "bases", bases)
        object.__setattr__(self, "mean_pose", mean_pose)

    @property
    def n_bases(self) -> int:
        return self.bases.shape[0]

    @property
    def n_joints(self) -> int:
        return self.bases.shape[2]

    @property
    def joint_names(self) -> tuple:
        return self.skeleton.joints

    @property
    def alpha(self) -> float:
        """Sparsity weight the bases were selected with (the lifter's default)."""
        return float(self.metadata.get("alpha", 1.0))

    def bone_lengths(self) -> np.ndarray:
        """Lengths (metres) of the skeleton's bones in the mean pose."""
        edges = np.array(self.skeleton.edge_indices())
        return np.linalg.norm(self.mean_pose[:, edges[:, 0]] - self.mean_pose[:, edges[:, 1]], axis=0)

    @classmethod
    def load(cls, source="default") -> "ShapeBases":
        """Load shipped bases by name, a path, or pass a ShapeBases through."""
        if isinstance(source, ShapeBases):
            return source
        if isinstance(source, str) and source in SHIPPED_BASES:
            path = default_bases_path(source)
        else:
            path = Path(source)
        return load_bases(path)

    def save(self, path, **extra_metadata) -> Path:
        """Write the bases file (the metadata gains a fresh ``arrays_sha256``)."""
        path = Path(path)
        metadata = dict(self.metadata)
        metadata.update(extra_metadata)
        metadata.update(skeleton=self.skeleton.name, joint_names=list(self.skeleton.joints),
                        n_bases=self.n_bases, format_version=FORMAT_VERSION,
                        arrays_sha256=_arrays_sha256(self.bases, self.mean_pose))
        for key in REQUIRED_METADATA:
            metadata.setdefault(key, None)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, bases=self.bases, mean_pose=self.mean_pose,
                 metadata=np.array(json.dumps(metadata, indent=1, sort_keys=True)))
        tmp.replace(path)
        return path


def load_bases(path) -> ShapeBases:
    """Read and validate a bases file; every failure names the file and the fix."""
    path = Path(path)
    if not path.is_file():
        hint = (f"to rebuild the shipped bases, {_REBUILD[path.name]}" if path.name in _REBUILD
                else "check the path")
        raise BasesFileError(f"bases file {path} not found; {hint}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except Exception as exc:  # zip/npy errors come in many types
        raise BasesFileError(f"{path}: not a readable .npz bases file ({exc})") from None
    missing = [key for key in ("bases", "mean_pose", "metadata") if key not in arrays]
    if missing:
        raise BasesFileError(f"{path}: missing array(s) {', '.join(missing)}; a bases file holds "
                             "'bases', 'mean_pose' and 'metadata'")
    try:
        metadata = json.loads(str(arrays["metadata"]))
    except (ValueError, RecursionError) as exc:
        raise BasesFileError(f"{path}: metadata is not valid JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(metadata, dict):
        raise BasesFileError(f"{path}: metadata is not a JSON object")
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise BasesFileError(f"{path}: metadata lacks {', '.join(missing)}")
    bases, mean_pose = arrays["bases"], arrays["mean_pose"]
    if bases.dtype.kind != "f" or mean_pose.dtype.kind != "f":
        raise BasesFileError(f"{path}: arrays must be floating point")
    if bases.ndim != 3 or bases.shape[0] < 1:
        raise BasesFileError(f"{path}: bases must have shape (n_bases >= 1, 3, n_joints); got {bases.shape}")
    if metadata["arrays_sha256"] != _arrays_sha256(bases, mean_pose):
        raise BasesFileError(f"{path}: checksum mismatch: the arrays do not match the metadata's "
                             "arrays_sha256 (the file was modified or corrupted); re-create it with "
                             "`lift2d3d learn-bases`")
    try:
        skeleton = get_skeleton(metadata["skeleton"])
    except (KeyError, TypeError) as exc:
        raise BasesFileError(f"{path}: {exc.args[0] if exc.args else exc}") from None
    if not isinstance(metadata["joint_names"], list) or list(metadata["joint_names"]) != list(skeleton.joints):
        raise BasesFileError(f"{path}: joint_names {metadata['joint_names']} do not match skeleton "
                             f"{skeleton.name!r} ({list(skeleton.joints)})")
    try:
        return ShapeBases(bases=bases, mean_pose=mean_pose, skeleton=skeleton, metadata=metadata)
    except BasesFileError as exc:
        raise BasesFileError(f"{path}: {exc}") from None
