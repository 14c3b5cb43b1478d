"""Learning a lifting network from 3D MoCap alone (training side; needs the ``train`` extra).

:mod:`.views`
    Random detector-like views of 3D poses: people, cameras (weak perspective and pinhole), noise,
    missing joints, swapped labels; the network's inputs and targets.
:mod:`.learner`
    :class:`LifterLearner`: scikit-learn's MLPRegressor over fresh views every epoch, exported as a
    :class:`lift2d3d.learned.LiftingNetwork` (the NumPy runtime).
:mod:`.selection`
    Settings chosen on held-out performers; the figures that score a network alone.

scikit-learn is imported only while learning; nothing here is needed to lift.
"""

from .learner import TRAIN_EXTRA_HINT, LifterLearner, training_libraries
from .selection import CONDITIONS, held_out_views, score_network, select_lifter
from .views import Augmentation, TrainingViews, training_views

__all__ = ["LifterLearner", "Augmentation", "TrainingViews", "training_views", "held_out_views", "score_network",
           "select_lifter", "CONDITIONS", "TRAIN_EXTRA_HINT", "training_libraries"]
