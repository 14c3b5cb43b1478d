"""BasisLearner: shape bases from 3D MoCap by non-negative sparse coding.

The learning step of MonoCap (Zhou et al., TPAMI 2018), in four stages:

1. **Normalise** each pose: centre it on its joint centroid and scale it so
   that its total bone length equals the reference (``size``, metres), so
   that the bases model pose, not the subject's size.
2. **Augment** (optional): mirror left and right, and re-draw each pose
   with randomly scaled bone groups (shoulder and hip breadth, torso, head,
   limb segments) so that the bases also express the proportions and joint
   placements of rigs other than the training one.
3. **Align** every pose to a reference torso (pelvis, neck, shoulders,
   hips) by a rotation (generalised Procrustes), so that the bases model
   articulation and the lifter's rotation carries the viewpoint.
4. **Learn** a dictionary with non-negative codes::

       min_{B, C >= 0}  sum_n 1/2 || X_n - sum_i c_ni B_i ||_F^2 + alpha || c_n ||_1
       s.t. ||B_i||_F <= 1

   in the lifter's normalised units (poses divided by the RMS radius of the
   mean pose), alternating FISTA on the codes with block-coordinate updates
   of the atoms (Mairal et al., JMLR 2010).  Non-negative codes make every
   pose a positive blend of prototype poses, so no separate mean is needed.
   Two solvers minimise the same objective: ``"batch"`` codes every sample
   in every iteration (:func:`learn_dictionary`, the reference), ``"online"``
   sweeps mini-batches and keeps only the sufficient statistics
   ``A = sum c c^T`` and ``B = sum c x^T`` (Mairal, Bach, Ponce and Sapiro,
   "Online dictionary learning for sparse coding", ICML 2009;
   :func:`learn_dictionary_online`), which learns a corpus of 10^5 samples in
   minutes.

``alpha`` therefore weighs the same kind of term, in the same units, as the
lifter's ``alpha`` (whose data term is the 2D projection of this one).  The
values shipped are chosen by lifting held-out clips (see
:func:`lifting_error` and ``lift2d3d learn-bases --select``).
"""

from __future__ import annotations

import numpy as np

from .mocap.corpus import performer_folds
from .mocap.poses import (PROPORTION_RANGES, TORSO_JOINTS, align_torso, bone_lengths, jitter_proportions, mirror_poses,
                          normalise_poses, redraw_with_lengths, thin_poses)
from .options import set_keyword_settings
from .skeletons import get_skeleton

__all__ = ["BasisLearner", "normalise_poses", "redraw_with_lengths", "align_torso", "mirror_poses",
           "jitter_proportions",
           "nonnegative_sparse_coding", "learn_dictionary", "learn_dictionary_online", "dictionary_objective",
           "thin_poses", "performer_folds", "TORSO_JOINTS", "PROPORTION_RANGES", "SOLVERS"]

#: Dictionary-learning solvers of :class:`BasisLearner`.
SOLVERS = ("batch", "online")


def nonnegative_sparse_coding(X: np.ndarray, D: np.ndarray, alpha: float, n_iter: int = 300,
                              tol: float = 1e-7, init: np.ndarray | None = None) -> np.ndarray:
    """Non-negative lasso codes by FISTA: ``min_{C>=0} 1/2 ||X - C D||^2 + alpha sum C``.

    Parameters
    ----------
    X : (n, d) float
        Samples (flattened poses).
    D : (K, d) float
        Atoms.
    alpha : float
    n_iter : int
        Iteration cap.
    tol : float
        Stop when the largest code change is below ``tol``.
    init : (n, K) float, optional
        Warm start.

    Returns
    -------
    (n, K) float, non-negative
    """
    gram = D @ D.T
    lipschitz = float(np.linalg.eigvalsh(gram)[-1]) or 1.0
    XD = X @ D.T
    C = np.zeros((X.shape[0], D.shape[0])) if init is None else np.maximum(init, 0.0)
    Y, t = C.copy(), 1.0
    for _ in range(n_iter):
        # prox of alpha*sum(C) + indicator(C >= 0) is a one-sided soft threshold
        C_next = np.maximum(Y - (Y @ gram - XD + alpha) / lipschitz, 0.0)
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        Y = C_next + ((t - 1.0) / t_next) * (C_next - C)
        change = float(np.max(np.abs(C_next - C))) if C.size else 0.0
        C, t = C_next, t_next
        if change < tol:
            break
    return C


def learn_dictionary(X: np.ndarray, n_atoms: int, alpha: float, rng: np.random.Generator,
                     n_iter: int = 40, code_iter: int = 200):
    """Alternate non-negative sparse coding and atom updates.

    Parameters
    ----------
    X : (n, d) float
        Normalised, aligned, flattened poses.
    n_atoms : int
    alpha : float
    rng : numpy.random.Generator
        Picks the initial atoms (distinct samples).
    n_iter : int
        Outer iterations.
    code_iter : int
        FISTA iterations per coding step (warm-started).

    Returns
    -------
    D : (n_atoms, d) float
        Unit-norm atoms (atoms no sample uses are re-seeded on the worst-fit
        samples).
    C : (n, n_atoms) float
        Codes of ``X``.
    history : list of float
        Objective per outer iteration.
    """
    n = X.shape[0]
    if n < n_atoms:
        raise ValueError(f"need at least n_bases={n_atoms} valid poses to learn from; got {n}")
    D = X[rng.choice(n, size=n_atoms, replace=False)].copy()
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    C = None
    history = []
    for _ in range(n_iter):
        C = nonnegative_sparse_coding(X, D, alpha, n_iter=code_iter, init=C)
        A = C.T @ C
        Bm = C.T @ X
        for k in range(n_atoms):
            if A[k, k] <= 1e-12:
                # unused atom: restart it on the sample explained worst
                residual = np.linalg.norm(X - C @ D, axis=1)
                D[k] = X[int(np.argmax(residual))] / max(np.linalg.norm(X[int(np.argmax(residual))]), 1e-12)
                continue
            d = D[k] + (Bm[k] - A[k] @ D) / A[k, k]
            D[k] = d / max(np.linalg.norm(d), 1.0)
        residual = X - C @ D
        history.append(0.5 * float(np.sum(residual ** 2)) + alpha * float(np.sum(C)))
    C = nonnegative_sparse_coding(X, D, alpha, n_iter=code_iter * 2, init=C)
    return D, C, history


def dictionary_objective(X: np.ndarray, D: np.ndarray, alpha: float, codes: np.ndarray | None = None,
                         code_iter: int = 2000) -> float:
    """Mean learning objective ``1/n sum_n min_{c>=0} 1/2 ||x_n - c D||^2 + alpha sum c`` of atoms ``D``.

    Parameters
    ----------
    X : (n, d) float
    D : (K, d) float
    alpha : float
    codes : (n, K) float, optional
        Warm start for the codes.
    code_iter : int
        FISTA iterations (the codes are solved, not just estimated, so two
        dictionaries are compared on equal terms).

    Returns
    -------
    float
    """
    C = nonnegative_sparse_coding(X, D, alpha, n_iter=code_iter, tol=1e-10, init=codes)
    residual = X - C @ D
    return (0.5 * float(np.sum(residual ** 2)) + alpha * float(np.sum(C))) / max(len(X), 1)


def _update_atoms(D, A, Bm, X, C, n_sweeps=1):
    """Block-coordinate atom updates from the statistics ``A = C^T C``, ``Bm = C^T X`` (in place).

    Atoms no sample uses (``A[k, k] ~ 0``) restart on the samples of ``X``
    that ``C @ D`` explains worst, one distinct sample per unused atom.
    """
    unused = [k for k in range(len(D)) if A[k, k] <= 1e-12]
    if unused:
        residual = np.linalg.norm(X - C @ D, axis=1)
        worst = np.argsort(-residual, kind="stable")
        for k, row in zip(unused, worst):
            D[k] = X[row] / max(np.linalg.norm(X[row]), 1e-12)
    for _ in range(n_sweeps):
        for k in range(len(D)):
            if A[k, k] <= 1e-12:
                continue
            d = D[k] + (Bm[k] - A[k] @ D) / A[k, k]
            D[k] = d / max(np.linalg.norm(d), 1.0)


def learn_dictionary_online(X: np.ndarray, n_atoms: int, alpha: float, rng: np.random.Generator,
                            n_epochs: int = 16, batch_size: int = 512, code_iter: int = 60,
                            code_tol: float = 1e-5):
    """Online (mini-batch) non-negative dictionary learning (after Mairal et al., ICML 2009 / JMLR 2010).

    Minimises the objective of :func:`learn_dictionary` by sweeping the
    samples in mini-batches.  For each batch: code it (FISTA, warm-started
    from each sample's previous code), update the sufficient statistics
    ``A = sum_n c_n c_n^T`` and ``B = sum_n c_n x_n^T``, then make one
    block-coordinate pass over the atoms with ``A`` and ``B`` (Mairal et al.'s
    Algorithm 2).  The training set being finite, each sample's previous
    contribution to ``A`` and ``B`` is *replaced* by its new one rather than
    down-weighted (the incremental scheme of Neal and Hinton, 1998), so the
    statistics are always those of one code per sample and a fixed point is a
    fixed point of the batch learner.  On the DeepMimic samples (9,720,
    K=64) this reached the batch learner's 40-iteration objective in 32
    epochs at a fifth of its time; Mairal et al.'s mini-batch weighting
    (their sec. 3.4.3) stayed 3 % above it after 32 epochs.

    Parameters
    ----------
    X : (n, d) float
    n_atoms : int
    alpha : float
    rng : numpy.random.Generator
        Picks the initial atoms and the order of the samples in each epoch
        (so a fixed seed gives a fixed sequence of mini-batches).
    n_epochs : int
        Passes over the samples.
    batch_size : int
    code_iter : int
        FISTA iterations per mini-batch (warm-started, so later epochs
        refine codes that are nearly solved).
    code_tol : float
        A batch's coding stops when no code changes by more than this in an
        iteration.  On 12,000 CMU samples (K=128, 16 epochs) 1e-7, 1e-5 and
        1e-4 gave the same objective (to 5 digits) in 28, 19 and 14 s.

    Returns
    -------
    D : (n_atoms, d) float
        Atoms of norm at most 1.
    history : list of float
        Mean objective of each epoch's mini-batches (each coded with the
        atoms as they stood before its update).

    Notes
    -----
    Memory: the codes of all samples, ``n * n_atoms`` floats (200 MB for
    200,000 samples and K=128).
    """
    n = X.shape[0]
    if n < n_atoms:
        raise ValueError(f"need at least n_bases={n_atoms} valid poses to learn from; got {n}")
    D = X[rng.choice(n, size=n_atoms, replace=False)].copy()
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    A = np.zeros((n_atoms, n_atoms))
    Bm = np.zeros_like(D)
    codes = np.zeros((n, n_atoms))
    history = []
    for _ in range(int(n_epochs)):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, int(batch_size)):
            rows = np.sort(order[start:start + int(batch_size)])
            batch, old = X[rows], codes[rows]
            C = nonnegative_sparse_coding(batch, D, alpha, n_iter=code_iter, tol=code_tol, init=old)
            residual = batch - C @ D
            total += 0.5 * float(np.sum(residual ** 2)) + alpha * float(np.sum(C))
            A += C.T @ C - old.T @ old
            Bm += (C - old).T @ batch
            codes[rows] = C
            _update_atoms(D, A, Bm, batch, C)
        history.append(total / n)
    return D, history


class BasisLearner:
    """Learn sparse shape bases from 3D MoCap (estimator style).

    Parameters
    ----------
    n_bases : int, default 128
        Number of atoms K (the shipped bases' value, chosen by held-out lifting).
    alpha : float, default 0.03
        Sparsity weight, in the lifter's normalised units (see module docstring).
    mirror : bool, default True
        Add left-right mirror images.
    n_proportion_copies : int, default 2
        Extra copies of each pose re-drawn with random bone proportions
        (:func:`jitter_proportions`); 0 disables.
    size : float, metres, optional
        Total bone length of the normalised poses (and of ``mean_pose_``);
        default: the median of the training poses.
    random_state : int, default 0
        Seed for augmentation, initial atoms and the order of the online
        solver's mini-batches (the fit is deterministic).
    skeleton : str or Skeleton, default "body15"
    solver : {"batch", "online"}, default "batch"
        ``"batch"``: :func:`learn_dictionary` (every sample coded in every
        iteration; the shipped DeepMimic bases').  ``"online"``:
        :func:`learn_dictionary_online`, for corpora of 10^4-10^6 samples.
    **solver_options
        The solvers' settings (:data:`SOLVER_OPTIONS`):
    max_iter : int, default 40
        Outer dictionary-learning iterations (``solver="batch"``).
    n_epochs : int, default 16
        Passes over the samples (``solver="online"``).
    batch_size : int, default 512
        Mini-batch size (``solver="online"``).
    max_eval_samples : int, default 20000
        ``training_error_`` and ``sparsity_`` are measured on at most this
        many training samples (a seeded subset), so that they stay cheap on a
        corpus.

    Attributes
    ----------
    bases_ : (K, 3, P) float, metres
    mean_pose_ : (3, P) float, metres
        Mean of the normalised, aligned training poses (centred).
    training_error_ : float, mm
        Mean per-joint error of the training poses' sparse reconstructions.
    sparsity_ : float
        Mean fraction of non-zero codes per training pose.
    n_frames_skipped_ : int
        Input frames dropped for NaN/inf joints.
    n_samples_ : int
        Training samples after augmentation.
    history_ : list of float
        Objective per iteration (batch) or per epoch (online; mean over the
        samples).

    Examples
    --------
    >>> import numpy as np
    >>> from lift2d3d.learn import BasisLearner
    >>> from lift2d3d.mocap import read_deepmimic, deepmimic_clips   # doctest: +SKIP
    >>> poses = read_deepmimic(deepmimic_clips()[0]).joints3d          # doctest: +SKIP
    >>> learner = BasisLearner(n_bases=16).fit(poses)                  # doctest: +SKIP
    >>> learner.bases_.shape                                           # doctest: +SKIP
    (16, 3, 15)
    """

    #: The solvers' own settings (``**solver_options``) and their defaults.
    SOLVER_OPTIONS = dict(max_iter=40, n_epochs=16, batch_size=512, max_eval_samples=20000)

    def __init__(self, n_bases=128, alpha=0.03, mirror=True, n_proportion_copies=2, size=None, random_state=0,
                 skeleton="body15", solver="batch", **solver_options):
        self.n_bases = n_bases
        self.alpha = alpha
        self.mirror = mirror
        self.n_proportion_copies = n_proportion_copies
        self.size = size
        self.random_state = random_state
        self.skeleton = skeleton
        self.solver = solver
        set_keyword_settings(self, solver_options, self.SOLVER_OPTIONS, "the solver's settings")

    # ------------------------------------------------------------------ helpers
    def _check_poses(self, poses3d):
        skeleton = get_skeleton(self.skeleton)
        poses = np.asarray(poses3d, dtype=np.float64)
        if poses.ndim != 3 or poses.shape[1:] != (skeleton.n_joints, 3):
            raise ValueError(f"expected 3D poses of shape (n_frames, {skeleton.n_joints}, 3) in metres "
                             f"({skeleton.name} joint order); got {poses.shape}")
        valid = np.all(np.isfinite(poses), axis=(1, 2))
        return np.ascontiguousarray(poses[valid].transpose(0, 2, 1)), int(np.count_nonzero(~valid))

    def _prepare(self, poses3d):
        """Validated -> normalised -> torso-aligned (n, 3, P) metres, and the skipped count."""
        poses, skipped = self._check_poses(poses3d)
        normalised, _ = normalise_poses(poses, self.skeleton, self.size_)
        aligned, _ = align_torso(normalised, self.skeleton, self.reference_)
        return aligned, skipped

    # ------------------------------------------------------------------ API
    def fit(self, poses3d):
        """Learn the bases.

        Parameters
        ----------
        poses3d : (n_frames, P, 3) float, metres
            Training poses in the skeleton's joint order, any orientation and
            position.  Frames with NaN/inf joints are skipped and counted.

        Returns
        -------
        self
        """
        if int(self.n_bases) < 1 or not (float(self.alpha) >= 0):
            raise ValueError(f"n_bases must be >= 1 and alpha >= 0; got {self.n_bases}, {self.alpha}")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(SOLVERS)}; got {self.solver!r}")
        rng = np.random.default_rng(self.random_state)
        X, aligned, skipped = self.training_samples(poses3d, rng)
        if self.solver == "batch":
            D, C, self.history_ = learn_dictionary(X, int(self.n_bases), float(self.alpha), rng,
                                                   n_iter=int(self.max_iter))
        else:
            D, self.history_ = learn_dictionary_online(X, int(self.n_bases), float(self.alpha), rng,
                                                       n_epochs=int(self.n_epochs), batch_size=int(self.batch_size))
            C = None
        skeleton = get_skeleton(self.skeleton)
        P = skeleton.n_joints
        self.bases_ = D.reshape(-1, 3, P) * self.kappa_
        self.n_samples_ = len(X)
        self.n_frames_skipped_ = skipped
        rows = np.arange(len(X))
        if len(X) > int(self.max_eval_samples):
            rows = np.sort(rng.choice(len(X), size=int(self.max_eval_samples), replace=False))
            C = None if C is None else C[rows]
        if C is None:
            C = nonnegative_sparse_coding(X[rows], D, float(self.alpha), n_iter=400)
        reconstruction = (C @ D).reshape(-1, 3, P) * self.kappa_
        self.training_error_ = float(np.linalg.norm(reconstruction - aligned[rows], axis=1).mean() * 1000.0)
        self.sparsity_ = float(np.mean(C > 1e-9))
        return self

    def training_samples(self, poses3d, rng: np.random.Generator):
        """The samples :meth:`fit` learns from: normalised, augmented, torso-aligned.

        Sets ``size_``, ``reference_``, ``mean_pose_`` and ``kappa_``.

        Parameters
        ----------
        poses3d : (n_frames, P, 3) float, metres
        rng : numpy.random.Generator
            Draws the proportion augmentation.

        Returns
        -------
        X : (n_samples, 3 P) float
            Flattened samples in the lifter's units (divided by ``kappa_``).
        aligned : (n_samples, 3, P) float, metres
        skipped : int
            Input frames dropped for NaN/inf joints.
        """
        skeleton = get_skeleton(self.skeleton)
        poses, skipped = self._check_poses(poses3d)
        if len(poses) == 0:
            raise ValueError(f"no valid poses to learn from ({skipped} frames had NaN/inf joints)")
        poses, self.size_ = normalise_poses(poses, skeleton, self.size)
        samples = [poses]
        if self.mirror:
            samples.append(mirror_poses(poses, skeleton))
        base = np.concatenate(samples)
        for _ in range(int(self.n_proportion_copies)):
            jittered = jitter_proportions(base, rng, skeleton)
            samples.append(normalise_poses(jittered, skeleton, self.size_)[0])
        samples = np.concatenate(samples)
        aligned, self.reference_ = align_torso(samples, skeleton)
        # Averaging swinging limbs shortens them, and the lifter takes its bone lengths and stature
        # from the mean pose: keep the mean bone directions but the training poses' mean bone lengths.
        self.mean_pose_ = redraw_with_lengths(aligned.mean(axis=0), bone_lengths(poses, skeleton).mean(axis=0),
                                              skeleton)
        # the lifter's internal unit: RMS radius of the mean pose
        self.kappa_ = float(np.sqrt((self.mean_pose_ ** 2).sum(axis=0).mean()))
        return aligned.reshape(len(aligned), -1) / self.kappa_, aligned, skipped

    def transform(self, poses3d) -> np.ndarray:
        """Non-negative sparse codes of the normalised, torso-aligned poses.

        Parameters
        ----------
        poses3d : (n_frames, P, 3) float, metres

        Returns
        -------
        (n_frames, K) float
            NaN rows for frames with NaN/inf joints.
        """
        aligned, _ = self._prepare(poses3d)
        valid = np.all(np.isfinite(np.asarray(poses3d, dtype=np.float64)), axis=(1, 2))
        D = self.bases_.reshape(len(self.bases_), -1) / self.kappa_
        codes = np.full((len(valid), len(D)), np.nan)
        codes[valid] = nonnegative_sparse_coding(aligned.reshape(len(aligned), -1) / self.kappa_, D,
                                                 float(self.alpha))
        return codes

    def reconstruction_error(self, poses3d) -> float:
        """Mean per-joint error (mm) of the sparse reconstructions of the valid ``poses3d``."""
        aligned, _ = self._prepare(poses3d)
        codes = self.transform(poses3d)
        codes = codes[np.all(np.isfinite(codes), axis=1)]
        reconstruction = np.einsum("nk,kij->nij", codes, self.bases_)
        return float(np.linalg.norm(reconstruction - aligned, axis=1).mean() * 1000.0)

    def to_shape_bases(self, **metadata):
        """The fitted bases as :class:`lift2d3d.bases.ShapeBases` (metadata filled in)."""
        from .bases import ShapeBases

        learner = dict(mirror=bool(self.mirror), n_proportion_copies=int(self.n_proportion_copies),
                       max_iter=int(self.max_iter), random_state=self.random_state)
        if self.solver != "batch":   # the batch learner's card stays as it was (the shipped bases' fields)
            learner.update(solver=self.solver, n_epochs=int(self.n_epochs), batch_size=int(self.batch_size),
                           max_eval_samples=int(self.max_eval_samples))
        card = dict(n_bases=int(self.n_bases), alpha=float(self.alpha), training_error=self.training_error_,
                    sparsity=self.sparsity_, n_samples=self.n_samples_, n_frames_skipped=self.n_frames_skipped_,
                    size_m=self.size_, learner=learner)
        card.update(metadata)
        card.setdefault("source", "")
        card.setdefault("inputs_sha256", None)
        return ShapeBases(bases=self.bases_, mean_pose=self.mean_pose_, skeleton=get_skeleton(self.skeleton),
                          metadata=card)


def lifting_error(bases, poses3d, seed: int = 0, method: str = "convex+refine", alpha=None,
                  perspective: bool = False):
    """Lift random 2D views of ``poses3d`` with ``bases`` and score them.

    Parameters
    ----------
    bases : ShapeBases or path
    poses3d : (n, P, 3) float, metres, y up
    seed : int
        Seed of the random cameras (azimuth 0-360, elevation -15..35, roll
        +-8 degrees, 3-6 m, focal 1000 px).
    method, alpha :
        Passed to :class:`lift2d3d.lifter.Lifter`.
    perspective : bool
        Pinhole projection and a perspective lifter; otherwise weak perspective.

    Returns
    -------
    dict
        ``pa_mpjpe_mm`` and ``camera_error_mm`` (mean over frames; limb
        joints; the latter after aligning scale and translation only), and
        ``failed`` (frames the lifter could not solve).
    """
    from .evaluation import VIEW_CAMERA, random_projections, score_lifts
    from .lifter import Lifter

    poses3d = np.asarray(poses3d, dtype=np.float64)
    poses3d = poses3d[np.all(np.isfinite(poses3d), axis=(1, 2))]
    views = random_projections(poses3d, seed, perspective)
    lifter = Lifter(bases, method=method, alpha=alpha, camera=VIEW_CAMERA if perspective else None)
    scores = score_lifts(lifter, views.keypoints, views.camera3d)
    return dict(pa_mpjpe_mm=float(scores["pa"].mean()), camera_error_mm=float(scores["st"].mean()),
                failed=scores["failed"])


def select_hyperparameters(clips, n_bases_grid=(32, 64, 128), alpha_grid=(0.003, 0.01, 0.03), n_folds=3,
                           frames_per_fold=150, seed=0, log=None, groups=None, jitter_held_out=True,
                           **learner_options):
    """Choose K and alpha by lifting held-out clips (or held-out performers).

    Clips are split into ``n_folds`` folds: by ``groups`` when given (every
    clip of a performer in one fold, :func:`performer_folds`, so a fold's
    test poses come from people the bases never saw), else clip ``i`` in
    fold ``i % n_folds``.  For each fold and grid point, bases are learned on
    the other folds and used (with the same alpha) to lift random views of
    up to ``frames_per_fold`` held-out frames (drawn uniformly, seeded),
    re-drawn with random proportions when ``jitter_held_out``, so the score
    rewards bases that carry over to other people and rigs.

    Parameters
    ----------
    clips : list of (n_i, P, 3) float arrays, metres
    n_bases_grid, alpha_grid : sequences
    groups : sequence of str, optional
        Performer of each clip.
    jitter_held_out : bool
        Re-draw the held-out frames with random bone proportions.
    log : callable, optional
        Called with a line of text per grid point.
    **learner_options
        Passed to :class:`BasisLearner`.

    Returns
    -------
    dict
        ``n_bases``, ``alpha`` (the best mean of PA-MPJPE and camera error),
        ``table``: one row per grid point with both errors in mm (mean over
        folds, and ``folds_pa_mpjpe_mm`` / ``folds_camera_error_mm`` per
        fold), ``n_folds``, ``frames_per_fold`` and, with ``groups``,
        ``fold_performers`` (the performers held out in each fold).
    """
    import tempfile
    from pathlib import Path

    rng = np.random.default_rng(seed)
    clips = [np.asarray(c) for c in clips]
    if groups is not None:
        if len(groups) != len(clips):
            raise ValueError(f"groups must name the performer of each clip: {len(groups)} for {len(clips)} clips")
        fold_of = performer_folds(groups, n_folds, weights=[len(c) for c in clips])
    else:
        fold_of = np.arange(len(clips)) % n_folds
    folds = []
    for fold in range(n_folds):
        held = [c for c, f in zip(clips, fold_of) if f == fold]
        train = [c for c, f in zip(clips, fold_of) if f != fold]
        if not held or not train:
            raise ValueError(f"fold {fold} has no held-out or no training clips; use fewer folds")
        test = np.concatenate(held)
        test = test[np.all(np.isfinite(test), axis=(1, 2))]
        test = test[rng.choice(len(test), size=min(frames_per_fold, len(test)), replace=False)]
        if jitter_held_out:
            test = jitter_proportions(test.transpose(0, 2, 1), rng).transpose(0, 2, 1)
        folds.append((np.concatenate(train), test))
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for n_bases in n_bases_grid:
            for alpha in alpha_grid:
                pa, st = [], []
                for fold, (train, test) in enumerate(folds):
                    learner = BasisLearner(n_bases=int(n_bases), alpha=float(alpha), **learner_options).fit(train)
                    path = learner.to_shape_bases(source="validation").save(Path(tmp) / f"fold{fold}.npz")
                    scores = lifting_error(path, test, seed=seed + fold)
                    pa.append(scores["pa_mpjpe_mm"])
                    st.append(scores["camera_error_mm"])
                row = dict(n_bases=int(n_bases), alpha=float(alpha), pa_mpjpe_mm=round(float(np.mean(pa)), 2),
                           camera_error_mm=round(float(np.mean(st)), 2),
                           folds_pa_mpjpe_mm=[round(float(v), 2) for v in pa],
                           folds_camera_error_mm=[round(float(v), 2) for v in st])
                table.append(row)
                if log:
                    log(f"  K={row['n_bases']:4d} alpha={row['alpha']:<7g} held-out PA-MPJPE "
                        f"{row['pa_mpjpe_mm']:6.1f} mm, camera-frame error {row['camera_error_mm']:6.1f} mm "
                        f"(folds: {' / '.join(f'{a:.1f}:{b:.1f}' for a, b in zip(pa, st))})")
    best = min(table, key=lambda r: r["pa_mpjpe_mm"] + r["camera_error_mm"])
    result = dict(n_bases=best["n_bases"], alpha=best["alpha"], table=table, n_folds=n_folds,
                  frames_per_fold=frames_per_fold, folds_by="performer" if groups is not None else "clip",
                  jitter_held_out=bool(jitter_held_out))
    if groups is not None:
        result["fold_performers"] = [sorted({str(g) for g, f in zip(groups, fold_of) if f == fold})
                                     for fold in range(n_folds)]
    return result
