"""Learned components: a model is data with a card, run by a plain function of arrays.

The room for models learned from MoCap that the solvers may use, on the floor
just above the joint sets so that ``solvers/`` can import it.  NumPy only: the
training library (scikit-learn, :mod:`lift2d3d.learn_lifter`) is never
imported here.

:class:`LiftingNetwork`
    An MLP from a frame's normalised 2D keypoints (the solver's units) to its
    camera-frame 3D joints, with its forward pass (:meth:`~LiftingNetwork.predict`).
:func:`load_network`
    A shipped network by name (``"default"`` = ``"cmu"``) or a file, its
    arrays checked against the SHA-256 in its model card (:mod:`.files`).
:class:`TemporalNetwork`
    An MLP from the 2D of the frames around a frame (time bins, any frame
    rate, missing frames and joints masked) to that frame's camera-frame 3D,
    in the per-frame network's units (:meth:`~TemporalNetwork.predict_sequence`);
    centred, or causal for live use (:mod:`.temporal`).
:func:`load_temporal_network`
    A shipped temporal network by name (``"default"`` = ``"cmu"``,
    ``"causal"``) or a file, with the same checks.

>>> from lift2d3d.learned import load_network, load_temporal_network
>>> net = load_network("default")                        # doctest: +SKIP
>>> X = net.predict(W, w, perspective=None)              # doctest: +SKIP
>>> temporal = load_temporal_network("default")          # doctest: +SKIP
>>> X = temporal.predict_sequence(W, w, times)           # doctest: +SKIP
"""

from .files import (SHIPPED_NETWORKS, SHIPPED_TEMPORAL_NETWORKS, NetworkFileError, default_network_path,
                    default_temporal_network_path, load_network, load_temporal_network, save_network,
                    save_temporal_network)
from .network import INPUT_ENCODING, LiftingNetwork, encode_frames, normalise_keypoints
from .temporal import TEMPORAL_ENCODING, TemporalNetwork

__all__ = ["LiftingNetwork", "load_network", "save_network", "NetworkFileError", "default_network_path",
           "SHIPPED_NETWORKS", "INPUT_ENCODING", "encode_frames", "normalise_keypoints", "TemporalNetwork",
           "load_temporal_network", "save_temporal_network", "default_temporal_network_path",
           "SHIPPED_TEMPORAL_NETWORKS", "TEMPORAL_ENCODING"]
