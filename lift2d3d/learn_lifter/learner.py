"""LifterLearner: a lifting network from 3D MoCap alone, with scikit-learn's MLPRegressor.

Each epoch draws fresh views of every training pose (:func:`.views.training_views`: new people,
cameras, noise, missing joints) and makes one pass of ``partial_fit`` over them in chunks, so the
network never sees the same 2D twice.  The learning rate follows a one-cycle shape (a linear
warm-up over the first ``warmup`` of the steps, then a cosine decay to ``final_lr`` of the peak),
set on Adam between chunks.  Inputs and outputs are standardised with the mean and spread of the
first epoch's samples; the result is a :class:`lift2d3d.learned.LiftingNetwork`, the NumPy runtime
that never imports scikit-learn.

scikit-learn is the training library because it installs without GPU packages and small (the
``train`` extra; PyTorch's CPU wheel takes 895 MB, JAX 383 MB).  What it lacks against the usual
lifting MLP (Martinez et al. 2017): batch normalisation, dropout, residual blocks and an L1 loss;
the regularisation here is the L2 weight penalty ``alpha`` and the endless augmentation.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..learned import LiftingNetwork
from ..learned.network import skip_connection
from ..options import set_keyword_settings
from ..skeletons import get_skeleton
from .views import Augmentation, training_views

__all__ = ["LifterLearner", "TRAIN_EXTRA_HINT", "training_libraries"]

TRAIN_EXTRA_HINT = "learning a lifting network needs scikit-learn: pip install 'lift2d3d[train]'"


def training_libraries() -> dict:
    """Versions of what a training run used (the card's ``libraries``)."""
    import platform

    import scipy

    from .. import __version__

    versions = dict(python=platform.python_version(), numpy=np.__version__, scipy=scipy.__version__,
                    lift2d3d=__version__)
    for name, module in (("scikit-learn", "sklearn"), ("threadpoolctl", "threadpoolctl")):
        try:
            versions[name] = __import__(module).__version__
        except ImportError:
            versions[name] = None
    try:
        from threadpoolctl import threadpool_info

        versions["blas"] = sorted({f"{i.get('internal_api')} {i.get('version')}" for i in threadpool_info()
                                   if i.get("user_api") == "blas"})
    except ImportError:
        pass
    return versions


class LifterLearner:
    """Learn a lifting network from 3D poses (estimator style).

    Parameters
    ----------
    hidden : tuple of int, default (512, 512, 512)
        Units of the hidden layers (ReLU).
    n_epochs : int, default 60
        Passes, each over freshly drawn views.
    augmentation : Augmentation or dict, optional
        How views are drawn (default :class:`~.views.Augmentation`).
    random_state : int, default 0
        Seeds the views and the network's initial weights and batch order: a seed gives the
        same network on one machine with one BLAS thread.
    log : callable, optional
        Called with a line per epoch.
    **training
        The training settings below (keywords; their defaults are :data:`TRAINING`'s).
    views_per_pose : int, default 4
        Views of each training pose per epoch.
    alpha : float, default 1e-4
        L2 penalty on the weights (scikit-learn's ``alpha``).
    batch_size : int, default 512
    learning_rate : float, default 2e-3
        Peak learning rate of Adam.
    warmup : float, default 0.05
        Fraction of the steps over which the learning rate rises linearly to its peak.
    final_lr : float, default 0.02
        Learning rate at the end, as a fraction of the peak (cosine decay).
    chunks_per_epoch : int, default 8
        ``partial_fit`` calls per epoch (the learning rate is set before each).
    flip : bool, default True
        The network averages each answer with that of the mirrored frame at run time
        (:meth:`lift2d3d.learned.LiftingNetwork.predict`; the card's ``test_time_flip``).
    n_threads : int or None, default 1
        BLAS threads while learning (threadpoolctl); None leaves them as they are (faster,
        but the sums' order, hence the bits, may change).
    skeleton : str, default "body15"

    Attributes
    ----------
    network_ : LiftingNetwork
    loss_curve_ : list of float
        Mean squared error (standardised units) of each epoch, as scikit-learn reports it.
    n_poses_ : int
    n_samples_ : int
        Samples seen over all epochs.
    seconds_ : float
        Wall time of :meth:`fit`.
    """

    #: The training settings taken as keywords (``**training``), with this learner's defaults.
    TRAINING = dict(views_per_pose=4, alpha=1e-4, batch_size=512, learning_rate=2e-3, warmup=0.05, final_lr=0.02,
                    chunks_per_epoch=8, flip=True, n_threads=1, skeleton="body15")

    def __init__(self, hidden=(512, 512, 512), n_epochs=60, augmentation=None, random_state=0, log=None,
                 **training):
        self.hidden = hidden
        self.n_epochs = n_epochs
        self.augmentation = augmentation
        self.random_state = random_state
        self.log = log
        set_keyword_settings(self, training, self.TRAINING, "the training settings")

    def get_params(self) -> dict:
        """The settings as given (the card's ``method``; ``log`` left out)."""
        augmentation = self._augmentation().as_dict()
        return dict(hidden=[int(h) for h in self.hidden], n_epochs=int(self.n_epochs),
                    views_per_pose=int(self.views_per_pose), alpha=float(self.alpha), batch_size=int(self.batch_size),
                    learning_rate=float(self.learning_rate), warmup=float(self.warmup), final_lr=float(self.final_lr),
                    chunks_per_epoch=int(self.chunks_per_epoch), augmentation=augmentation, flip=bool(self.flip),
                    random_state=self.random_state, n_threads=self.n_threads, skeleton=str(self.skeleton))

    #: the augmentation's class (a subclass of learner draws other views)
    _augmentation_class = Augmentation

    def _augmentation(self) -> Augmentation:
        cls = self._augmentation_class
        if self.augmentation is None:
            return cls()
        if isinstance(self.augmentation, dict):
            return cls.from_dict(self.augmentation)
        if not isinstance(self.augmentation, cls):
            raise TypeError(f"augmentation must be a {cls.__name__} or a dict of its fields; got "
                            f"{type(self.augmentation).__name__}")
        return self.augmentation

    def _check(self, poses3d):
        skeleton = get_skeleton(self.skeleton)
        if isinstance(poses3d, (list, tuple)):
            poses3d = np.concatenate([np.asarray(p, dtype=np.float64) for p in poses3d]) if len(poses3d) else \
                np.zeros((0, skeleton.n_joints, 3))
        poses = np.asarray(poses3d, dtype=np.float64)
        if poses.ndim != 3 or poses.shape[1:] != (skeleton.n_joints, 3):
            raise ValueError(f"expected 3D poses of shape (n_frames, {skeleton.n_joints}, 3) in metres "
                             f"({skeleton.name} joint order); got {poses.shape}")
        poses = poses[np.all(np.isfinite(poses), axis=(1, 2))]
        if len(poses) < 2:
            raise ValueError(f"need at least 2 valid poses to learn a lifting network; got {len(poses)}")
        hidden = tuple(int(h) for h in self.hidden)
        if not hidden or min(hidden) < 1 or int(self.n_epochs) < 1 or int(self.views_per_pose) < 1:
            raise ValueError("hidden layers, epochs and views per pose must be positive; got "
                             f"{self.hidden}, {self.n_epochs}, {self.views_per_pose}")
        return poses, hidden

    def _learning_rate(self, progress: float) -> float:
        """One-cycle: a linear rise to the peak over the first ``warmup`` of training, then a cosine decay to
        ``final_lr`` of the peak; ``progress`` in [0, 1] is the fraction of the epochs done (a chunk's middle)."""
        peak, rise = float(self.learning_rate), float(self.warmup)
        if progress < rise:
            return peak * progress / rise
        low = peak * float(self.final_lr)
        decay = min((progress - rise) / max(1.0 - rise, 1e-12), 1.0)
        return low + 0.5 * (peak - low) * (1.0 + np.cos(np.pi * decay))

    def fit(self, poses3d):
        """Learn the network.

        Parameters
        ----------
        poses3d : (n, P, 3) float or list of such arrays, metres, y up
            Training poses in the skeleton's joint order (frames with NaN are skipped).

        Returns
        -------
        self
        """
        try:
            from sklearn.neural_network import MLPRegressor
        except ImportError:
            raise ImportError(TRAIN_EXTRA_HINT) from None
        poses, hidden = self._check(poses3d)
        start = time.perf_counter()
        limiter = None
        if self.n_threads is not None:
            from threadpoolctl import threadpool_limits   # a dependency of scikit-learn

            limiter = threadpool_limits(int(self.n_threads))
        try:
            self._fit(poses, hidden, MLPRegressor)
        finally:
            if limiter is not None:
                limiter.restore_original_limits()
        self.seconds_ = time.perf_counter() - start
        return self

    def _fit(self, poses, hidden, MLPRegressor):
        augmentation = self._augmentation()
        rng = np.random.default_rng(self.random_state)
        model = MLPRegressor(hidden_layer_sizes=hidden, activation="relu", solver="adam", alpha=float(self.alpha),
                             batch_size=int(self.batch_size), learning_rate_init=float(self.learning_rate),
                             shuffle=True, random_state=self.random_state)
        chunks = max(int(self.chunks_per_epoch), 1)
        n_epochs = int(self.n_epochs)
        self.loss_curve_, self.n_samples_ = [], 0
        scaling = None
        P = get_skeleton(self.skeleton).n_joints
        for epoch in range(n_epochs):
            inputs, targets = self._samples(poses, rng, augmentation)
            residual = targets.copy()
            residual[:, :2 * P] -= skip_connection(inputs, P)
            if scaling is None:
                scaling = _standardisation(inputs, residual)
            X = (inputs - scaling[0]) * scaling[1]
            Y = (residual - scaling[2]) / scaling[3]
            losses = []
            # no chunk smaller than a mini-batch (scikit-learn would clip the batch and warn)
            n_chunks = max(min(chunks, len(X) // max(int(self.batch_size), 1)), 1)
            for i, rows in enumerate(np.array_split(np.arange(len(X)), n_chunks)):
                rate = self._learning_rate((epoch + (i + 0.5) / n_chunks) / n_epochs)
                if hasattr(model, "_optimizer"):
                    model._optimizer.learning_rate_init = rate
                elif epoch or i:
                    raise RuntimeError("this scikit-learn's MLPRegressor keeps no _optimizer between partial_fit "
                                       "calls; the learning-rate schedule needs it (written for scikit-learn 1.9)")
                else:
                    model.set_params(learning_rate_init=rate)    # the optimizer is made by the first call
                with warnings.catch_warnings():   # a corpus smaller than a mini-batch: clipped, as intended
                    warnings.filterwarnings("ignore", message=".*batch_size.*clipped", category=UserWarning)
                    model.partial_fit(X[rows], Y[rows])
                losses.append(model.loss_ * len(rows))
            self.loss_curve_.append(float(sum(losses) / len(X)))
            self.n_samples_ += len(X)
            if self.log:
                self.log(f"epoch {epoch + 1}/{n_epochs}: {len(X)} samples, loss {self.loss_curve_[-1]:.4f}, "
                         f"learning rate {rate:.2e}")
        self.n_poses_ = len(poses)
        self.model_ = model
        self.network_ = self._network(model.coefs_, model.intercepts_, scaling,
                                      dict(source=type(self).__name__, inputs_sha256=None,
                                           test_time_flip=bool(self.flip)))
        self.standardisation_ = scaling

    def _samples(self, poses, rng, augmentation):
        """One epoch's unstandardised inputs and targets: fresh views of every pose (in a new order)."""
        views = training_views(poses[rng.permutation(len(poses))], rng, augmentation, int(self.views_per_pose),
                               self.skeleton)
        return views.inputs, views.targets

    def _network(self, weights, biases, standardisation, metadata):
        """The runtime network of the learned arrays."""
        return LiftingNetwork(weights=weights, biases=biases, input_offset=standardisation[0],
                              input_scale=standardisation[1], output_offset=standardisation[2],
                              output_scale=standardisation[3], skeleton=self.skeleton, metadata=metadata)

    def to_network(self, **metadata) -> LiftingNetwork:
        """The fitted network with its card: the settings, the training figures, ``metadata`` on top."""
        card = dict(method=dict(learner=f"{type(self).__name__} (scikit-learn MLPRegressor, Adam, squared error)",
                                **self.get_params()),
                    training=dict(n_poses=int(self.n_poses_), n_samples=int(self.n_samples_),
                                  seconds=round(float(self.seconds_), 1),
                                  loss_curve=[round(v, 5) for v in self.loss_curve_]),
                    libraries=training_libraries(), seed=self.random_state, test_time_flip=bool(self.flip))
        card.update(metadata)
        card.setdefault("source", "")
        card.setdefault("inputs_sha256", None)
        net = self.network_
        return self._network(net.weights, net.biases, (net.input_offset, net.input_scale, net.output_offset,
                                                       net.output_scale), card)


def _standardisation(inputs, targets):
    """(input offset, input scale, output offset, output scale), float32: the layers see unit-spread values."""
    def spread(values):
        sd = values.std(axis=0, dtype=np.float64)
        return np.where(sd > 1e-6, sd, 1.0)

    return (inputs.mean(axis=0, dtype=np.float64).astype(np.float32), (1.0 / spread(inputs)).astype(np.float32),
            targets.mean(axis=0, dtype=np.float64).astype(np.float32), spread(targets).astype(np.float32))
