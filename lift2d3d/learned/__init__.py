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

>>> from lift2d3d.learned import load_network
>>> net = load_network("default")                        # doctest: +SKIP
>>> X = net.predict(W, w, perspective=None)              # doctest: +SKIP
"""

from .files import (SHIPPED_NETWORKS, NetworkFileError, default_network_path, load_network, save_network)
from .network import INPUT_ENCODING, LiftingNetwork, encode_frames, normalise_keypoints

__all__ = ["LiftingNetwork", "load_network", "save_network", "NetworkFileError", "default_network_path",
           "SHIPPED_NETWORKS", "INPUT_ENCODING", "encode_frames", "normalise_keypoints"]
