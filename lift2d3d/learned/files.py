"""Network files: a single ``.npz`` (``allow_pickle=False``), its arrays checked against the card's SHA-256.

Two kinds share the layout and the checks: a lifting network (``kind``
:data:`KIND`, :func:`load_network`) and a temporal lifting network (``kind``
:data:`TEMPORAL_KIND`, :func:`load_temporal_network`, whose metadata adds
``bin_edges_s``: its time bins, :mod:`.temporal`).  A network file holds

``weights_0 ... weights_{L-1}``
    (n_in, n_out) float16/float32/float64, one per layer, inputs first.
``biases_0 ... biases_{L-1}``
    (n_out,) float.
``input_offset``, ``input_scale``, ``output_offset``, ``output_scale``
    The standardisation of the inputs and outputs (:mod:`.network`).
``metadata``
    a 0-d unicode array with JSON: the structure (``kind``, ``format_version``,
    ``skeleton``, ``joint_names``, ``layers``, ``activation``,
    ``input_encoding``, ``arrays_sha256``) and the model card (``source``,
    ``inputs_sha256``, ``command``, ``seed``, ``training``, ``libraries``,
    ``validation``, ...).

Every problem with a file (missing, not a zip, a crafted array, a checksum
that does not match) is a :class:`NetworkFileError` naming the file and what
to do, never a traceback from deep inside NumPy.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from ..skeletons import get_skeleton
from .network import ACTIVATIONS, INPUT_ENCODING, STANDARDISATION, LiftingNetwork
from .temporal import TEMPORAL_ENCODING, TemporalNetwork

__all__ = ["NetworkFileError", "load_network", "save_network", "default_network_path", "SHIPPED_NETWORKS",
           "FORMAT_VERSION", "KIND", "REQUIRED_METADATA", "arrays_sha256", "load_temporal_network",
           "save_temporal_network", "default_temporal_network_path", "SHIPPED_TEMPORAL_NETWORKS", "TEMPORAL_KIND",
           "TEMPORAL_REQUIRED_METADATA"]

FORMAT_VERSION = 1

#: The ``kind`` of a network file (a bases file is another kind of .npz).
KIND = "lift2d3d-lifting-network"

#: Metadata fields a file must have: its structure, and the model card's provenance.
REQUIRED_METADATA = ("kind", "format_version", "skeleton", "joint_names", "layers", "activation", "input_encoding",
                     "arrays_sha256", "source", "inputs_sha256")

#: Shipped networks (name -> file name in ``bases/``).
SHIPPED_NETWORKS = {"default": "cmu_lifter15.npz", "cmu": "cmu_lifter15.npz"}

#: The ``kind`` of a temporal network file.
TEMPORAL_KIND = "lift2d3d-temporal-network"

#: A temporal network file's metadata: a lifting network's, and its time bins.
TEMPORAL_REQUIRED_METADATA = REQUIRED_METADATA + ("bin_edges_s",)

#: Shipped temporal networks (name -> file name in ``bases/``): centred, and causal for live use.
SHIPPED_TEMPORAL_NETWORKS = {"default": "cmu_temporal15.npz", "cmu": "cmu_temporal15.npz",
                             "causal": "cmu_temporal15_causal.npz", "cmu-causal": "cmu_temporal15_causal.npz"}

#: Largest file (and largest uncompressed content) the loader reads: the shipped one is a few MB.
MAX_BYTES = 256 * 1024 * 1024

#: Most layers a file may have.
MAX_LAYERS = 64

_FLOAT_KINDS = (np.float16, np.float32, np.float64)


class NetworkFileError(ValueError):
    """A network file is missing, malformed, or fails its checksum."""


def _shipped_dir() -> Path:
    # as lift2d3d.bases: installed wheels carry the files in lift2d3d/_bases, a checkout in bases/
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_bases", here.parent / "bases"):
        if candidate.is_dir():
            return candidate
    return here.parent / "bases"


def default_network_path(name: str = "default") -> Path:
    """Path of a shipped network by name (``"default"``, ``"cmu"``)."""
    if name not in SHIPPED_NETWORKS:
        raise NetworkFileError(f"unknown shipped network {name!r}; shipped: {', '.join(SHIPPED_NETWORKS)}. "
                               "Pass the path of a .npz written by `lift2d3d learn-lifter` instead.")
    return _shipped_dir() / SHIPPED_NETWORKS[name]


def default_temporal_network_path(name: str = "default") -> Path:
    """Path of a shipped temporal network by name (``"default"`` = ``"cmu"``, ``"causal"`` = ``"cmu-causal"``)."""
    if name not in SHIPPED_TEMPORAL_NETWORKS:
        raise NetworkFileError(f"unknown shipped temporal network {name!r}; shipped: "
                               f"{', '.join(SHIPPED_TEMPORAL_NETWORKS)}. Pass the path of a .npz written by "
                               "`lift2d3d learn-lifter --temporal` instead.")
    return _shipped_dir() / SHIPPED_TEMPORAL_NETWORKS[name]


def _layer_names(n_layers: int):
    return [f"weights_{i}" for i in range(n_layers)], [f"biases_{i}" for i in range(n_layers)]


def arrays_sha256(arrays: dict) -> str:
    """SHA-256 over the named arrays (name, dtype, shape and bytes, in name order)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _file_arrays(network: LiftingNetwork, dtype) -> dict:
    weights, biases = _layer_names(len(network.weights))
    arrays = {}
    for name, a in zip(weights, network.weights):
        arrays[name] = np.ascontiguousarray(a, dtype=dtype)
    for name, b in zip(biases, network.biases):
        arrays[name] = np.ascontiguousarray(b, dtype=dtype)
    for name in STANDARDISATION:
        arrays[name] = np.ascontiguousarray(getattr(network, name), dtype=np.float32)
    return arrays


def save_network(network: LiftingNetwork, path, dtype="float32", **extra_metadata) -> Path:
    """Write a network file; the metadata gains the structure fields and a fresh ``arrays_sha256``.

    Parameters
    ----------
    network : LiftingNetwork
    path : str or Path
    dtype : {"float32", "float16"}
        Storage of the weights and biases (float16 halves the file; the forward
        pass computes in float32 either way).
    **extra_metadata
        Card fields to add or replace.

    Returns
    -------
    Path
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float16), np.dtype(np.float32)):
        raise ValueError(f"dtype must be float32 or float16; got {dtype}")
    path = Path(path)
    arrays = _file_arrays(network, dtype)
    metadata = dict(network.metadata)
    metadata.update(extra_metadata)
    metadata.update(kind=KIND, format_version=FORMAT_VERSION, skeleton=network.skeleton.name,
                    joint_names=list(network.joint_names), layers=list(network.layer_sizes), activation="relu",
                    input_encoding=INPUT_ENCODING, weights_dtype=dtype.name, arrays_sha256=arrays_sha256(arrays))
    return _write_network_file(path, arrays, metadata, REQUIRED_METADATA)


def _write_network_file(path: Path, arrays: dict, metadata: dict, required) -> Path:
    """Write the arrays and the metadata (JSON) to ``path`` through a temporary file (never half a file)."""
    for key in required:
        metadata.setdefault(key, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, metadata=np.array(json.dumps(metadata, indent=1, sort_keys=True)), **arrays)
    tmp.replace(path)
    return path


def load_network(source="default") -> LiftingNetwork:
    """Load a lifting network: a shipped one by name, a path, or a LiftingNetwork passed through.

    Parameters
    ----------
    source : str, Path or LiftingNetwork
        ``"default"`` (= ``"cmu"``, the shipped network) or a ``.npz`` written
        by ``lift2d3d learn-lifter``.

    Returns
    -------
    LiftingNetwork

    Raises
    ------
    NetworkFileError
        The file is missing, unreadable, crafted or corrupt; the message names
        it and the fix.
    """
    return _opened(source, LiftingNetwork, SHIPPED_NETWORKS, default_network_path, _load, "lifting-network")


def _opened(source, cls, shipped, shipped_path, load, what):
    """``source`` itself when it is a ``cls``, else the network ``load`` reads from the shipped name's file
    or the path; whatever a crafted file provokes is a :class:`NetworkFileError` naming it."""
    if isinstance(source, cls):
        return source
    path = shipped_path(source) if isinstance(source, str) and source in shipped else Path(source)
    try:
        return load(path)
    except NetworkFileError:
        raise
    except Exception as exc:   # anything a crafted file provokes still names the file
        raise NetworkFileError(f"{path}: not a valid {what} file ({type(exc).__name__}: {exc})") from None


def _read_arrays(path: Path, shipped: dict = SHIPPED_NETWORKS) -> dict:
    if not path.is_file():
        hint = ("the shipped network is re-created by the command in bases/README.md"
                if path.name in shipped.values()
                else f"check the path (shipped networks by name: {', '.join(shipped)})")
        raise NetworkFileError(f"network file {path} not found; {hint}")
    if path.stat().st_size > MAX_BYTES:
        raise NetworkFileError(f"{path}: {path.stat().st_size} bytes is larger than any lifting network "
                               f"({MAX_BYTES} at most); not a network file")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
        if sum(m.file_size for m in members) > MAX_BYTES:
            raise NetworkFileError(f"{path}: its arrays would take more than {MAX_BYTES} bytes; not a network file")
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except NetworkFileError:
        raise
    except Exception as exc:   # zip, npy header and pickle refusals come in many types
        raise NetworkFileError(f"{path}: not a readable .npz network file ({type(exc).__name__}: {exc})") from None


def _read_network_file(path: Path, kind: str, what: str, required, input_encoding: str,
                       shipped: dict = SHIPPED_NETWORKS):
    """The checks every network file passes: its metadata, arrays, layers, checksum and skeleton.

    Returns
    -------
    metadata : dict
    arrays : dict of name -> array (without ``metadata``)
    skeleton : Skeleton
    weights, biases : lists of the layer array names, inputs first
    """
    arrays = _read_arrays(path, shipped)
    if "metadata" not in arrays:
        raise NetworkFileError(f"{path}: no 'metadata' array; a network file is written by `lift2d3d learn-lifter`")
    text = arrays.pop("metadata")
    if text.dtype.kind != "U" or text.shape != ():
        raise NetworkFileError(f"{path}: 'metadata' must be a JSON text (0-d unicode array); got {text.dtype} "
                               f"{text.shape}")
    try:
        metadata = json.loads(str(text))
    except json.JSONDecodeError as exc:
        raise NetworkFileError(f"{path}: metadata is not valid JSON ({exc})") from None
    if not isinstance(metadata, dict):
        raise NetworkFileError(f"{path}: metadata must be a JSON object")
    # the kind first: another kind of file lacks this kind's fields, and its kind is the better message
    if "kind" in metadata and metadata["kind"] != kind:
        raise NetworkFileError(f"{path}: a {metadata['kind']!r} file, not {what} ({kind!r})")
    missing = [key for key in required if key not in metadata]
    if missing:
        raise NetworkFileError(f"{path}: metadata lacks {', '.join(missing)}")
    if metadata["format_version"] != FORMAT_VERSION:
        raise NetworkFileError(f"{path}: format_version {metadata['format_version']!r}; this lift2d3d reads "
                               f"{FORMAT_VERSION} (upgrade lift2d3d or re-create the file)")
    if metadata["activation"] not in ACTIVATIONS:
        raise NetworkFileError(f"{path}: activation {metadata['activation']!r}; known: {', '.join(ACTIVATIONS)}")
    if metadata["input_encoding"] != input_encoding:
        raise NetworkFileError(f"{path}: input encoding {metadata['input_encoding']!r}; this lift2d3d feeds "
                               f"{input_encoding!r} (re-create the file with this version's learn-lifter)")
    layers = metadata["layers"]
    if (not isinstance(layers, list) or not 2 <= len(layers) <= MAX_LAYERS + 1
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in layers)):
        raise NetworkFileError(f"{path}: 'layers' must list 2 to {MAX_LAYERS + 1} positive layer sizes; "
                               f"got {layers!r}")
    weights, biases = _layer_names(len(layers) - 1)
    expected = set(weights) | set(biases) | set(STANDARDISATION)
    if set(arrays) != expected:
        extra, lacking = sorted(set(arrays) - expected), sorted(expected - set(arrays))
        raise NetworkFileError(f"{path}: arrays do not match its {len(layers) - 1} layers"
                               + (f"; missing {', '.join(lacking)}" if lacking else "")
                               + (f"; unexpected {', '.join(extra)}" if extra else ""))
    for name, array in arrays.items():
        if array.dtype.type not in _FLOAT_KINDS:
            raise NetworkFileError(f"{path}: array {name!r} is {array.dtype}; network arrays are float16/32/64")
    for i, (a, b) in enumerate(zip(weights, biases)):
        shape = (layers[i], layers[i + 1])
        if arrays[a].shape != shape or arrays[b].shape != shape[1:]:
            raise NetworkFileError(f"{path}: layer {i} has weights {arrays[a].shape} and biases {arrays[b].shape}; "
                                   f"its metadata says {shape} and {shape[1:]}")
    if metadata["arrays_sha256"] != arrays_sha256(arrays):
        raise NetworkFileError(f"{path}: checksum mismatch: the arrays do not match the metadata's arrays_sha256 "
                               "(the file was modified or corrupted); re-create it with `lift2d3d learn-lifter`")
    try:
        skeleton = get_skeleton(metadata["skeleton"])
    except (KeyError, TypeError) as exc:
        raise NetworkFileError(f"{path}: {exc.args[0] if exc.args else exc}") from None
    if metadata["joint_names"] != list(skeleton.joints):
        raise NetworkFileError(f"{path}: joint_names {metadata['joint_names']} do not match skeleton "
                               f"{skeleton.name!r} ({list(skeleton.joints)})")
    return metadata, arrays, skeleton, weights, biases


def _load(path: Path) -> LiftingNetwork:
    metadata, arrays, skeleton, weights, biases = _read_network_file(path, KIND, "a lifting network",
                                                                     REQUIRED_METADATA, INPUT_ENCODING)
    try:
        return LiftingNetwork(weights=[arrays[a] for a in weights], biases=[arrays[b] for b in biases],
                              **{name: arrays[name] for name in STANDARDISATION}, skeleton=skeleton,
                              metadata=metadata)
    except ValueError as exc:
        raise NetworkFileError(f"{path}: {exc}") from None


# ------------------------------------------------------------------------------ temporal networks
def save_temporal_network(network: TemporalNetwork, path, dtype="float32", **extra_metadata) -> Path:
    """Write a temporal network file (as :func:`save_network`; the metadata gains ``bin_edges_s``).

    Parameters
    ----------
    network : TemporalNetwork
    path : str or Path
    dtype : {"float32", "float16"}
    **extra_metadata
        Card fields to add or replace.

    Returns
    -------
    Path
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float16), np.dtype(np.float32)):
        raise ValueError(f"dtype must be float32 or float16; got {dtype}")
    arrays = _file_arrays(network, dtype)
    metadata = dict(network.metadata)
    metadata.update(extra_metadata)
    before, after = network.receptive_field
    metadata.update(kind=TEMPORAL_KIND, format_version=FORMAT_VERSION, skeleton=network.skeleton.name,
                    joint_names=list(network.joint_names), layers=list(network.layer_sizes), activation="relu",
                    input_encoding=TEMPORAL_ENCODING, weights_dtype=dtype.name, arrays_sha256=arrays_sha256(arrays),
                    bin_edges_s=[float(e) for e in network.edges], causal=network.causal,
                    receptive_field_s=[before, after])
    return _write_network_file(Path(path), arrays, metadata, TEMPORAL_REQUIRED_METADATA)


def load_temporal_network(source="default") -> TemporalNetwork:
    """Load a temporal lifting network: a shipped one by name, a path, or a TemporalNetwork passed through.

    Parameters
    ----------
    source : str, Path or TemporalNetwork
        ``"default"`` (= ``"cmu"``, centred), ``"causal"`` (= ``"cmu-causal"``:
        no frame after the one lifted) or a ``.npz`` written by
        ``lift2d3d learn-lifter --temporal``.

    Returns
    -------
    TemporalNetwork

    Raises
    ------
    NetworkFileError
        The file is missing, unreadable, crafted or corrupt (the checks of
        :func:`load_network`, and the time bins); the message names it and
        the fix.
    """
    return _opened(source, TemporalNetwork, SHIPPED_TEMPORAL_NETWORKS, default_temporal_network_path,
                   _load_temporal, "temporal-network")


def _load_temporal(path: Path) -> TemporalNetwork:
    metadata, arrays, skeleton, weights, biases = _read_network_file(
        path, TEMPORAL_KIND, "a temporal lifting network", TEMPORAL_REQUIRED_METADATA, TEMPORAL_ENCODING,
        SHIPPED_TEMPORAL_NETWORKS)
    edges = metadata["bin_edges_s"]
    if (not isinstance(edges, list)
            or not all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in edges)):
        raise NetworkFileError(f"{path}: 'bin_edges_s' must be a list of times in seconds; got {edges!r}"[:300])
    try:
        return TemporalNetwork(weights=[arrays[a] for a in weights], biases=[arrays[b] for b in biases],
                               **{name: arrays[name] for name in STANDARDISATION}, skeleton=skeleton, edges=edges,
                               metadata=metadata)
    except ValueError as exc:
        raise NetworkFileError(f"{path}: {exc}") from None
