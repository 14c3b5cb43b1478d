"""The lifting network: what it sees, what it answers, and its forward pass (NumPy only).

A multilayer perceptron maps one frame's 2D keypoints to its 3D joints in the
camera frame.  It is trained from MoCap alone (``lift2d3d learn-lifter``,
:mod:`lift2d3d.learn_lifter`) and runs here as a plain function of arrays: the
training library is never imported at run time.

**Units.**  The solver normalises each frame (``normalise_frames`` in
``lift2d3d/solvers/batch.py``): minus the centroid of the keypoints weighted by
the joint weights ``w``, divided by their weighted RMS radius ``sigma``.  The
network answers in the same units, centred at the same weighted centroid:

* weak perspective: ``X[:, :2] ≈ W`` (up to noise the network removes);
* perspective: the units in which the centroid sits at depth
  ``rho = focal / sigma``, so that ``W + o rho ≈ rho (X_xy + o rho) / (rho + X_z)``
  with ``o = (t0 - principal) / focal`` the off-axis direction of the centroid
  (``W ≈ rho X_xy / (rho + X_z)`` for a person near the optical axis).

**What the network itself sees** (:func:`encode_frames`).  The weights decide
only which joints are used (``w > 0``): the used keypoints are re-centred on
their plain centroid and divided by their plain RMS radius, missing joints are
zeroed and flagged, and the perspective row is carried into those units.  So a
caller's confidences cannot move the network's answer, only where it is
centred; a change of units (``r``, ``c`` below) undoes the re-normalisation
exactly.  The inputs, per frame::

    [u_x (P), u_y (P), used (P), sigma_u / focal, (t0_u - px) / focal, (t0_u - py) / focal]

(zeros for the last three under weak perspective: the limit of a far camera),
standardised by the file's ``input_offset`` / ``input_scale``.  The outputs
are the 3D joints ``[x (P), y (P), z (P)]`` in the plain units, centred at the
used joints' centroid: the layers' answer, de-standardised by ``output_offset``
/ ``output_scale``, plus the used keypoints ``u`` on x and y (a skip
connection, :func:`skip_connection`: the layers spend themselves on depth and
on correcting the 2D, not on copying it).  Hidden layers are ReLU, computed in
float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..skeletons import Skeleton, get_skeleton

__all__ = ["LiftingNetwork", "encode_frames", "normalise_keypoints", "INPUT_ENCODING", "ACTIVATIONS",
           "n_inputs", "n_outputs", "STANDARDISATION", "checked_layers", "mlp_forward", "keypoint_frames",
           "check_frames"]

#: Name of the input/output convention above (a file records it; a different one is refused).
INPUT_ENCODING = "body-xy-used-perspective/1"

#: Hidden-layer activations the forward pass knows.
ACTIVATIONS = ("relu",)

#: Frames per forward-pass chunk: bounds the memory of the hidden activations (chunk x width floats).
_CHUNK = 4096

#: Fewest rows a chunk is multiplied with (padded with zeros): OpenBLAS computes small products with other
#: kernels, which round differently, so a frame's answer would depend on how many frames came with it (a
#: lift of 20 frames and the same 20 within 40 differed by 1e-6; from 48 rows up they agree here).
MIN_ROWS = 64


def n_inputs(n_joints: int) -> int:
    """Inputs of a network over ``n_joints`` joints: x, y and used per joint, and the perspective row."""
    return 3 * n_joints + 3


def n_outputs(n_joints: int) -> int:
    """Outputs: x, y and z per joint."""
    return 3 * n_joints


def normalise_keypoints(keypoints: np.ndarray, w: np.ndarray):
    """A frame's keypoints as the solver normalises them: minus the weighted centroid, over the weighted RMS radius.

    The NumPy twin of ``normalise_frames`` (``lift2d3d/solvers/batch.py``), for
    callers with pixels.

    Parameters
    ----------
    keypoints : (N, 2, P) float, pixels
    w : (N, P) float, >= 0
        Joint weights (0 = missing; those keypoints may be NaN).

    Returns
    -------
    W : (N, 2, P) float64
        Normalised keypoints (0 where ``w == 0``); NaN rows for frames without
        two distinct used joints.
    t0 : (N, 2) float64, pixels
        The weighted centroids.
    sigma : (N,) float64, pixels
        The weighted RMS radii (NaN for unusable frames).
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    used = w > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = np.where(used, w, 0.0)
        total = weights.sum(axis=1)
        values = np.where(used[:, None, :], keypoints, 0.0)
        t0 = (values * weights[:, None, :]).sum(axis=2) / total[:, None]
        centred = np.where(used[:, None, :], keypoints - t0[:, :, None], 0.0)
        sigma = np.sqrt((weights[:, None, :] * centred ** 2).sum(axis=(1, 2)) / total)
        bad = ~(np.isfinite(sigma) & (sigma > 1e-9 * np.maximum(np.abs(t0).max(axis=1, initial=0.0), 1.0)))
        W = centred / sigma[:, None, None]
    W[bad] = np.nan
    sigma = np.where(bad, np.nan, sigma)
    return W, t0, sigma


def skip_connection(inputs: np.ndarray, n_joints: int) -> np.ndarray:
    """What the network adds to its layers' x and y outputs: the used keypoints in the plain units (0 if missing)."""
    return inputs[:, :2 * n_joints].astype(np.float64)


def encode_frames(W: np.ndarray, w: np.ndarray, perspective: np.ndarray | None = None):
    """The network's inputs for normalised frames, and the change of units back.

    Parameters
    ----------
    W : (N, 2, P) float
        Keypoints normalised with weights ``w`` (see the module docstring).
    w : (N, P) float, >= 0
    perspective : (N, 3) float, optional
        ``[sigma / focal, (t0x - px) / focal, (t0y - py) / focal]`` in ``W``'s
        normalisation; None (or a row of zeros) for weak perspective.

    Returns
    -------
    inputs : (N, 3P + 3) float64
        Unstandardised (zeros for unusable frames).
    r : (N,) float64
        The used joints' plain RMS radius in ``W``'s units: the network's
        outputs times ``r`` are in ``W``'s units.
    ok : (N,) bool
        Frames with at least two distinct used joints whose coordinates are
        finite.
    """
    N, _, P = W.shape
    used = w > 0
    count = used.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        values = np.where(used[:, None, :], W, 0.0)
        c = values.sum(axis=2) / count[:, None]
        centred = np.where(used[:, None, :], W - c[:, :, None], 0.0)
        r = np.sqrt((centred ** 2).sum(axis=(1, 2)) / count)
        ok = (count >= 2) & np.isfinite(r) & (r > 1e-9) & np.isfinite(values).all(axis=(1, 2))
        u = np.where(ok[:, None, None], centred / np.where(ok, r, 1.0)[:, None, None], 0.0)
    inputs = np.zeros((N, n_inputs(P)))
    inputs[:, :P] = u[:, 0]
    inputs[:, P:2 * P] = u[:, 1]
    inputs[:, 2 * P:3 * P] = used
    if perspective is not None:
        q = perspective[:, 0]
        # the perspective row in the plain units: sigma_u = sigma r, t0_u = t0 + sigma c
        inputs[:, 3 * P] = q * r
        inputs[:, 3 * P + 1:] = perspective[:, 1:] + q[:, None] * c
    inputs[~ok] = 0.0
    return inputs, np.where(ok, r, np.nan), ok


#: The standardisation arrays of a network (inputs, then outputs).
STANDARDISATION = ("input_offset", "input_scale", "output_offset", "output_scale")


def checked_layers(network, n_in: int, n_out: int, skeleton: Skeleton):
    """A network's layers and standardisation as read-only float32 arrays, checked to chain from ``n_in`` to ``n_out``.

    ``network`` has ``weights``, ``biases`` and the :data:`STANDARDISATION`
    attributes (a :class:`LiftingNetwork` or a
    :class:`lift2d3d.learned.TemporalNetwork` being built).

    Returns
    -------
    weights, biases : tuples of float32 arrays
    arrays : dict of the standardisation arrays

    Raises
    ------
    ValueError
        Layers that do not chain, standardisation of the wrong size, NaN or inf.
    """
    weights = tuple(np.ascontiguousarray(a, dtype=np.float32) for a in network.weights)
    biases = tuple(np.ascontiguousarray(b, dtype=np.float32) for b in network.biases)
    if not weights or len(weights) != len(biases):
        raise ValueError(f"a network needs as many bias vectors as weight matrices (at least one); got "
                         f"{len(weights)} and {len(biases)}")
    expected_in = n_in
    for i, (a, b) in enumerate(zip(weights, biases)):
        if a.ndim != 2 or b.shape != (a.shape[1],) or a.shape[0] != expected_in:
            raise ValueError(f"layer {i}: weights {a.shape} and biases {b.shape} do not chain: expected "
                             f"({expected_in}, n) weights and (n,) biases")
        expected_in = a.shape[1]
    if expected_in != n_out:
        raise ValueError(f"the last layer has {expected_in} outputs; a network over {skeleton.name!r} "
                         f"({skeleton.n_joints} joints) answers {n_out}")
    arrays = {}
    for name, size in zip(STANDARDISATION, (n_in, n_in, n_out, n_out)):
        value = np.ascontiguousarray(getattr(network, name), dtype=np.float32)
        if value.shape != (size,):
            raise ValueError(f"{name} must have shape ({size},); got {value.shape}")
        arrays[name] = value
    if not all(np.isfinite(a).all() for a in weights + biases + tuple(arrays.values())):
        raise ValueError("the network's arrays contain NaN or inf")
    for a in weights + biases + tuple(arrays.values()):
        a.setflags(write=False)
    return weights, biases, arrays


def mlp_forward(network, inputs: np.ndarray) -> np.ndarray:
    """The layers of ``network`` on unstandardised inputs (n, n_in): outputs (n, 3P) in the plain units, float64.

    Standardise, ReLU layers, de-standardise (float32, in chunks of frames, at
    least :data:`MIN_ROWS` rows each, so that a frame's answer does not depend
    on the batch it came in), then the skip connection: the first ``2P`` inputs (the frame's used
    keypoints) are added to the x and y outputs.
    """
    inputs = np.asarray(inputs, dtype=np.float32)
    P = network.n_joints
    out = np.empty((len(inputs), network.weights[-1].shape[1]))
    last = len(network.weights) - 1
    for start in range(0, len(inputs), _CHUNK):
        chunk = inputs[start:start + _CHUNK]
        n = len(chunk)
        if n < MIN_ROWS:
            chunk = np.concatenate([chunk, np.zeros((MIN_ROWS - n, chunk.shape[1]), dtype=np.float32)])
        h = (chunk - network.input_offset) * network.input_scale
        for i, (a, b) in enumerate(zip(network.weights, network.biases)):
            h = h @ a
            h += b
            if i < last:
                np.maximum(h, 0.0, out=h)
        out[start:start + n] = h[:n] * network.output_scale + network.output_offset
    # the layers answer the 3D minus the used 2D (a skip connection): x and y are nearly the input
    out[:, :2 * P] += skip_connection(inputs, P)
    return out


def keypoint_frames(keypoints, scores, focal, principal, skeleton: Skeleton):
    """Pixel keypoints as the solver would hand them to a network (the ``predict_keypoints`` conveniences).

    Parameters
    ----------
    keypoints : (N, P, 2) or (P, 2) float, pixels, NaN = missing
    scores : (N, P) or (P,) float, optional (default 1 for every finite keypoint)
    focal : float or None, pixels
    principal : (2,) float or None, pixels

    Returns
    -------
    W : (N, 2, P) float64, normalised (NaN rows for unusable frames)
    w : (N, P) float64, the weights (0 = missing)
    sigma : (N,) float64, pixels (NaN for unusable frames)
    perspective : (N, 3) float64 or None
    single : bool
        A single frame was given.
    """
    P = skeleton.n_joints
    keypoints = np.asarray(keypoints, dtype=np.float64)
    single = keypoints.ndim == 2
    if single:
        keypoints = keypoints[None]
    if keypoints.ndim != 3 or keypoints.shape[1:] != (P, 2):
        raise ValueError(f"expected keypoints of shape (n_frames, {P}, 2) in pixels "
                         f"({skeleton.name} order); got {np.shape(keypoints)}")
    if scores is None:
        scores = np.ones(keypoints.shape[:2])
    scores = np.asarray(scores, dtype=np.float64).reshape(keypoints.shape[:2])
    with np.errstate(invalid="ignore"):
        w = np.where(np.isfinite(keypoints).all(axis=2) & np.isfinite(scores) & (scores > 0), scores, 0.0)
    W, t0, sigma = normalise_keypoints(keypoints.transpose(0, 2, 1), w)
    ok = np.isfinite(sigma)
    perspective = None
    if focal is not None:
        focal = float(focal)
        if not (np.isfinite(focal) and focal > 0):
            raise ValueError(f"focal must be a positive number of pixels; got {focal}")
        centre = np.zeros(2) if principal is None else np.asarray(principal, dtype=np.float64).reshape(2)
        perspective = np.zeros((len(W), 3))
        perspective[ok, 0] = sigma[ok] / focal
        perspective[ok, 1:] = (t0[ok] - centre) / focal
    return W, w, sigma, perspective, single


def check_frames(W, w, perspective, skeleton: Skeleton):
    """Normalised frames, weights and perspective rows as float64, checked against the skeleton.

    Raises
    ------
    ValueError
        Shapes that do not match the skeleton, weights that are negative or
        not finite, or a non-finite or negative perspective row.
    """
    P = skeleton.n_joints
    W = np.asarray(W, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if W.ndim != 3 or W.shape[1:] != (2, P):
        raise ValueError(f"W must be normalised 2D frames of shape (n_frames, 2, {P}) ({skeleton.name} "
                         f"joint order); got {W.shape}")
    if w.shape != (W.shape[0], P):
        raise ValueError(f"w must hold the joint weights, shape ({W.shape[0]}, {P}); got {w.shape}")
    if not (np.isfinite(w).all() and (w >= 0).all()):
        raise ValueError("w must be finite and >= 0 (0 marks a missing joint)")
    if perspective is not None:
        perspective = np.asarray(perspective, dtype=np.float64)
        if perspective.shape != (W.shape[0], 3):
            raise ValueError(f"perspective must be None or shape ({W.shape[0]}, 3): [sigma/focal, "
                             f"(t0x - px)/focal, (t0y - py)/focal] per frame; got {perspective.shape}")
        if not (np.isfinite(perspective).all() and (perspective[:, 0] >= 0).all()):
            raise ValueError("perspective must be finite with sigma/focal >= 0 (0: weak perspective)")
    return W, w, perspective


class MLPLayers:
    """What the per-frame and the temporal network share: their checked layers on a skeleton, the forward
    pass and the card's test-time flip (a dataclass with the fields of :class:`LiftingNetwork` inherits it)."""

    def _set_layers(self, n_in, **extra) -> None:
        """Check the layers for ``n_in(P)`` inputs and the skeleton's outputs, and freeze them (and ``extra``)."""
        skeleton = get_skeleton(self.skeleton)
        weights, biases, arrays = checked_layers(self, n_in(skeleton.n_joints), n_outputs(skeleton.n_joints),
                                                 skeleton)
        for name, value in dict(skeleton=skeleton, weights=weights, biases=biases, **arrays, **extra).items():
            object.__setattr__(self, name, value)

    @property
    def joint_names(self) -> tuple:
        return self.skeleton.joints

    @property
    def n_joints(self) -> int:
        return self.skeleton.n_joints

    @property
    def layer_sizes(self) -> tuple:
        """Units per layer, inputs first: e.g. ``(48, 512, 512, 512, 45)``."""
        return (self.weights[0].shape[0],) + tuple(a.shape[1] for a in self.weights)

    def forward(self, inputs: np.ndarray) -> np.ndarray:
        """The MLP on unstandardised inputs (n, n_in): outputs (n, 3P) in the plain units, float64.

        Computed in float32 in chunks of frames (:func:`mlp_forward`).
        """
        return mlp_forward(self, inputs)

    @property
    def flip(self) -> bool:
        """Whether the answers are averaged with those of the mirrored frames (the card's ``test_time_flip``)."""
        return bool(self.metadata.get("test_time_flip", False))


@dataclass(frozen=True, eq=False)
class LiftingNetwork(MLPLayers):
    """A lifting MLP over a skeleton, with its model card.

    Build it with :func:`lift2d3d.learned.load_network` (a shipped name or a
    file) or from a training run (:class:`lift2d3d.learn_lifter.LifterLearner`).

    Parameters
    ----------
    weights : sequence of (n_in, n_out) float arrays
        One per layer, inputs first (stored as float32).
    biases : sequence of (n_out,) float arrays
    input_offset, input_scale : (3P + 3,) float
        Standardisation of the inputs: the layers see ``(inputs - offset) * scale``.
    output_offset, output_scale : (3P,) float
        De-standardisation of the outputs: ``layers * scale + offset``.
    skeleton : Skeleton or str
    metadata : dict
        The model card (training files and their SHA-256, method, seed,
        library versions, figures); see ``bases/README.md``.

    Examples
    --------
    >>> import numpy as np
    >>> from lift2d3d.learned import load_network
    >>> net = load_network("default")                    # doctest: +SKIP
    >>> X = net.predict(W, w)                            # doctest: +SKIP
    """

    weights: tuple
    biases: tuple
    input_offset: np.ndarray
    input_scale: np.ndarray
    output_offset: np.ndarray
    output_scale: np.ndarray
    skeleton: Skeleton
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        self._set_layers(n_inputs)

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self.layer_sizes))
        return f"LiftingNetwork({self.skeleton.name}, layers {sizes}, source={self.metadata.get('source')!r})"

    # ------------------------------------------------------------------ forward pass
    def predict(self, W, w, perspective=None, flip=None) -> np.ndarray:
        """Camera-frame 3D joints of normalised 2D frames.

        Parameters
        ----------
        W : (N, 2, P) float
            Keypoints normalised as the solver normalises a frame: minus the
            centroid weighted by ``w``, divided by the weighted RMS radius
            ``sigma``.  Entries of missing joints (``w == 0``) are ignored (NaN
            allowed).
        w : (N, P) float, >= 0
            Joint weights or confidences; 0 = missing.
        perspective : (N, 3) float, optional
            ``[sigma / focal, (t0x - px) / focal, (t0y - py) / focal]``: ``t0``
            the weighted centroid in pixels, ``(px, py)`` the principal point.
            None, or a row of zeros, for weak perspective.
        flip : bool, optional
            Average with the answer to the mirrored frame (x negated, left and
            right swapped, answer mirrored back): twice the work, a few percent
            less error (see the card).  Default: the file's ``test_time_flip``.

        Returns
        -------
        (N, 3, P) float64
            Joints in the camera frame (x right, y down, z away from the
            camera) in ``W``'s units, centred at the centroid weighted by
            ``w``: ``X[:, :2] ≈ W`` under weak perspective; under perspective
            the centroid is at depth ``rho = focal / sigma`` in these units
            (see the module docstring).  Frames without two distinct used
            joints, or with a non-finite used coordinate, give NaN rows.

        Raises
        ------
        ValueError
            Shapes that do not match the network's skeleton, weights that are
            negative or not finite, or a non-finite or negative perspective row.
        """
        W, w, perspective = self._check(W, w, perspective)
        inputs, r, ok = encode_frames(W, w, perspective)
        N, P = w.shape
        X = np.full((N, 3, P), np.nan)
        if not ok.any():
            return X
        rows = np.flatnonzero(ok)
        if self.flip if flip is None else flip:
            mirror = np.asarray(self.skeleton.mirror_permutation())
            W_m = W[rows][:, :, mirror] * np.array([-1.0, 1.0])[None, :, None]
            row_m = None if perspective is None else perspective[rows] * np.array([1.0, -1.0, 1.0])
            inputs_m, _, _ = encode_frames(W_m, w[rows][:, mirror], row_m)
            both = self.forward(np.concatenate([inputs[rows], inputs_m])).reshape(2, len(rows), 3, P)
            mirrored = both[1][:, :, mirror] * np.array([-1.0, 1.0, 1.0])[None, :, None]
            plain = 0.5 * (both[0] + mirrored) * r[rows, None, None]
        else:
            plain = self.forward(inputs[rows]).reshape(len(rows), 3, P) * r[rows, None, None]
        weights = w[rows]
        centre = (plain * weights[:, None, :]).sum(axis=2) / weights.sum(axis=1)[:, None]
        X[rows] = plain - centre[:, :, None]
        return X

    def predict_keypoints(self, keypoints, scores=None, focal=None, principal=None) -> np.ndarray:
        """The network on pixel keypoints: (N, P, 2) pixels -> (N, P, 3), pixels at the person's depth.

        A convenience for callers without a solver: the frames are normalised
        as the solver would (:func:`normalise_keypoints`), lifted by
        :meth:`predict`, and scaled back by each frame's ``sigma``: under weak
        perspective ``joints[..., :2] ≈ keypoints - centroid``; with ``focal``
        the centroid sits at depth ``focal`` (multiply by ``depth / focal``
        for metres).

        Parameters
        ----------
        keypoints : (N, P, 2) or (P, 2) float, pixels
            In :attr:`joint_names` order; NaN = missing.
        scores : (N, P) or (P,) float, optional
            Confidences (0 or NaN = missing); default 1 for every finite keypoint.
        focal : float, pixels, optional
            Full perspective with this focal length (default: weak perspective).
        principal : (2,) float, pixels, optional
            The principal point (default (0, 0): give it with ``focal``).

        Returns
        -------
        (N, P, 3) or (P, 3) float64
            NaN for frames that cannot be lifted.
        """
        W, w, sigma, perspective, single = keypoint_frames(keypoints, scores, focal, principal, self.skeleton)
        ok = np.isfinite(sigma)
        X = np.full(W.shape[:1] + (3, self.n_joints), np.nan)
        if ok.any():
            X[ok] = self.predict(W[ok], w[ok], None if perspective is None else perspective[ok])
        joints = (X * sigma[:, None, None]).transpose(0, 2, 1)
        return joints[0] if single else joints

    def _check(self, W, w, perspective):
        return check_frames(W, w, perspective, self.skeleton)
