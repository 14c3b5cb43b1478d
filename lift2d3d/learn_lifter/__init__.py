"""Learning a lifting network from 3D MoCap alone (training side; needs the ``train`` extra).

:mod:`.views`
    Random detector-like views of 3D poses: people, cameras (weak perspective and pinhole), noise,
    missing joints, swapped labels; the network's inputs and targets.
:mod:`.learner`
    :class:`LifterLearner`: scikit-learn's MLPRegressor over fresh views every epoch, exported as a
    :class:`lift2d3d.learned.LiftingNetwork` (the NumPy runtime).
:mod:`.selection`
    Settings chosen on held-out performers; the figures that score a network alone.
:mod:`.videos`
    Random videos of 3D MoCap takes: a person, a clock (frame rate, tempo), a fixed or slowly moving
    camera, a detector with correlated jitter, occlusions, swaps and dropped frames.
:mod:`.temporal`
    :class:`TemporalLifterLearner`: the temporal lifting network (a
    :class:`lift2d3d.learned.TemporalNetwork`) from videos; held-out clips and the selection.

scikit-learn is imported only while learning; nothing here is needed to lift.
"""

from .learner import TRAIN_EXTRA_HINT, LifterLearner, training_libraries
from .selection import CONDITIONS, held_out_views, score_network, select_lifter
from .temporal import (CLIP_CONDITIONS, TemporalLifterLearner, held_out_clips, lift_clips, score_clip_lifts,
                       select_temporal)
from .videos import TemporalAugmentation, training_videos
from .views import Augmentation, TrainingViews, training_views

__all__ = ["LifterLearner", "Augmentation", "TrainingViews", "training_views", "held_out_views", "score_network",
           "select_lifter", "CONDITIONS", "TRAIN_EXTRA_HINT", "training_libraries", "TemporalLifterLearner",
           "TemporalAugmentation", "training_videos", "held_out_clips", "lift_clips", "score_clip_lifts",
           "select_temporal", "CLIP_CONDITIONS"]
