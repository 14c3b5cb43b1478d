"""Ordinal depth hints: parsing and bad input, the hinge term's derivatives, and lifts that obey them."""

import numpy as np
import pytest

from lift2d3d import Lifter
from lift2d3d.benchmark import synthetic_keypoints
from lift2d3d.depth_order import encode_relations, frames_of
from lift2d3d.skeletons import BODY15


def _encode(relations, weights=None):
    weights = np.ones((1, 15)) if weights is None else weights
    return encode_relations(frames_of(relations, 1, True), BODY15, weights)


def test_relations_are_encoded_with_farther_turned_round():
    hints, n_hints, problems = _encode([("left_wrist", "<", "left_elbow"), ("LKnee", ">", "r_knee"),
                                        ("head", "=", "neck")])
    assert problems == [""] and n_hints[0] == 3
    sk = BODY15
    assert hints[0, 0].tolist() == [sk.index("left_wrist"), sk.index("left_elbow"), 0]
    assert hints[0, 1].tolist() == [sk.index("right_knee"), sk.index("left_knee"), 0]     # a > b  is  b < a
    assert hints[0, 2].tolist() == [sk.index("head"), sk.index("neck"), 1]


@pytest.mark.parametrize("relations, message", [
    ([("left_wirst", "<", "left_elbow")], "unknown joint 'left_wirst'"),
    ([("left_wrist", "<<", "left_elbow")], "unknown relation '<<'"),
    ([("left_wrist", "<", "left_wrist")], "against itself"),
    ([("left_wrist", "<", "left_elbow"), ("left_elbow", "<", "left_wrist")], "contradictory"),
    ([("left_wrist", "<", "left_elbow"), ("left_elbow", "<", "head"), ("head", "<", "left_wrist")], "contradictory"),
    ([("left_wrist", "left_elbow")], "a relation is (joint_a"),
])
def test_bad_relations_name_the_relation(relations, message):
    _, n_hints, problems = _encode(relations)
    assert message in problems[0] and "relation" in problems[0]
    assert n_hints[0] == 0


def test_about_equal_is_not_transitive():
    """pelvis = neck, neck = head and pelvis < head can all hold (depths 0, 0.08, 0.16 with tolerance 0.1)."""
    _, n_hints, problems = _encode([("pelvis", "=", "neck"), ("neck", "=", "head"), ("pelvis", "<", "head")])
    assert problems == [""] and n_hints[0] == 3
    # ... but not when the strict relation runs against a chain the tolerance cannot stretch
    relations = [("pelvis", "=", "neck"), ("neck", "<", "pelvis"), ("head", "<", "neck"), ("pelvis", "<", "head")]
    _, _, problems = _encode(relations)
    assert "contradictory" in problems[0]
    assert "('pelvis', '=', 'neck')" not in problems[0]      # names the cycle, not an innocent relation


def test_a_relation_on_a_missing_joint_is_bad_input():
    weights = np.ones((1, 15))
    weights[0, BODY15.index("left_wrist")] = 0.0
    _, _, problems = _encode([("left_wrist", "<", "left_elbow")], weights)
    assert "joint 'left_wrist' is missing in this frame" in problems[0]


def test_frames_of_accepts_lists_and_dicts():
    assert frames_of({1: [("a", "<", "b")]}, 3, False) == [[], [("a", "<", "b")], []]
    assert frames_of([None, [], [("a", "<", "b")]], 3, False)[2] == [("a", "<", "b")]
    with pytest.raises(ValueError, match="one list of relations per frame"):
        frames_of([[]], 3, False)
    with pytest.raises(ValueError, match="frame index 5"):
        frames_of({5: []}, 3, False)


def _twin_objective(W, w, B, R, c, alpha, hints, weight, margin, tol):
    """NumPy twin of objective (2) with the depth-order hinges (no bone rows)."""
    S = np.einsum("k,kaj->aj", c, B)
    S = S - (S * w).sum(axis=1, keepdims=True) / w.sum()
    X = R @ S
    r = W - X[:2]
    f = 0.5 * (w * r ** 2).sum() + alpha * np.abs(c).sum()
    for a, b, kind in hints:
        dz = X[2, a] - X[2, b]
        v = dz + margin if kind == 0 else abs(dz) - tol
        f += 0.5 * weight * max(v, 0.0) ** 2
    return f


def test_lm_with_depth_hinges_reaches_a_stationary_point():
    """The hinge term's residuals, gradient and Jacobians agree with finite differences of a NumPy twin."""
    from scipy.spatial.transform import Rotation

    from lift2d3d.solvers.lm import lm_frame, new_fit
    from lift2d3d.solvers.terms import Terms

    lifter = Lifter()
    model = lifter.solver_records()[0]
    B = np.ascontiguousarray(model.B[:12])
    K, P = B.shape[0], B.shape[2]
    rng = np.random.default_rng(3)
    w = rng.uniform(0.5, 1.0, P)
    truth = np.zeros(K)
    truth[[0, 3, 7]] = [0.6, 0.3, 0.4]
    R_true = Rotation.from_rotvec([0.2, 1.1, -0.1]).as_matrix()
    W = R_true[:2] @ np.einsum("k,kaj->aj", truth, B) + rng.normal(0, 0.02, (2, P))
    W -= (W * w).sum(axis=1, keepdims=True) / w.sum()
    X_true = R_true @ np.einsum("k,kaj->aj", truth, B)
    sk = lifter.skeleton
    pairs = [("left_wrist", "right_wrist"), ("left_knee", "right_ankle"), ("head", "pelvis")]
    hints = []
    for a, b in pairs:
        ia, ib = sk.index(a), sk.index(b)
        # relations that the true pose breaks, so that the hinges are active at the solution
        hints.append((ia, ib, 0) if X_true[2, ia] > X_true[2, ib] else (ib, ia, 0))
    hints.append((sk.index("left_elbow"), sk.index("right_elbow"), 1))
    hints = np.array(hints, dtype=np.int64)
    weight, margin, tol, alpha = 2.0, 0.05, 0.02, 0.005
    terms = Terms(model.edges, np.zeros((0, len(model.edges))), hints, weight, margin, tol, dB=model.dB[:12])
    R = R_true.copy()
    c = truth.copy()
    lm_frame(new_fit(W, w, w.sum(), B, alpha, terms), R, c, 3000, 1e-15)
    smooth = lambda R_, c_: _twin_objective(W, w, B, R_, c_, 0.0, hints, weight, margin, tol)   # noqa: E731
    h = 1e-6
    for k in range(3):
        turn = Rotation.from_rotvec(h * np.eye(3)[k]).as_matrix()
        assert abs(smooth(turn @ R, c) - smooth(turn.T @ R, c)) / (2 * h) < 1e-5
    for i in range(K):
        e = h * np.eye(K)[i]
        d = (smooth(R, c + e) - smooth(R, c - e)) / (2 * h)
        if c[i] != 0.0:
            assert abs(d + alpha * np.sign(c[i])) < 1e-5
        else:
            assert abs(d) <= alpha + 1e-5
    # the hinges pulled: at least one relation is now (nearly) satisfied that the true pose broke
    S = np.einsum("k,kaj->aj", c, B)
    X = R @ (S - (S * w).sum(axis=1, keepdims=True) / w.sum())
    assert any(X[2, a] - X[2, b] < X_true[2, a] - X_true[2, b] - 0.05 for a, b, _ in hints[:3])


@pytest.fixture(scope="module")
def views():
    lifter = Lifter()
    keypoints, cam = synthetic_keypoints(lifter.bases, 120, seed=5)
    return lifter, keypoints, cam


def _true_relations(cam, sk, n, pairs):
    z = cam[n, :, 2]
    return [(sk.joints[a], "<" if z[a] < z[b] else ">", sk.joints[b]) for a, b in pairs if abs(z[a] - z[b]) > 0.05]


def _satisfied(joints3d, relations, sk):
    z = joints3d[:, 2]
    return [(z[sk.index(a)] < z[sk.index(b)]) == (s == "<") for a, s, b in relations]


def test_true_hints_are_obeyed_and_frames_that_obeyed_them_are_unchanged(views):
    lifter, keypoints, cam = views
    sk = lifter.skeleton
    bones = sk.edge_indices()
    relations = [_true_relations(cam, sk, n, bones) for n in range(len(cam))]
    plain = lifter.lift(keypoints)
    hinted = lifter.lift(keypoints, depth_order=relations)
    # the same frames lifted; a random atom mixture near the code limit (plausibility.MAX_CODE_RATIO)
    # may cross it when a hint reflects a limb (3 of these 120 frames with method convex+refine, 5 with the
    # fused default, whose network pulls these random mixtures towards real poses)
    code_flag = np.char.find(hinted.message.astype(str), "atoms cancel") >= 0
    code_flag |= np.char.find(plain.message.astype(str), "atoms cancel") >= 0
    assert np.all(hinted.status[~code_flag] == plain.status[~code_flag]) and code_flag.sum() <= 6
    obeyed_before = np.array([all(_satisfied(plain.joints3d[n], relations[n], sk)) for n in range(len(cam))])
    obeyed_after = np.array([np.mean(_satisfied(hinted.joints3d[n], relations[n], sk)) for n in range(len(cam))])
    assert obeyed_before.mean() < 1.0                      # the lifter gets some limb depths wrong
    assert obeyed_after.mean() >= 0.97
    # a frame whose lift already obeys its hints is left exactly as it was
    np.testing.assert_array_equal(hinted.joints3d[obeyed_before], plain.joints3d[obeyed_before])
    # where the hints changed the answer, it moved towards the truth
    changed = ~obeyed_before

    def error(X):
        X = X - X.mean(axis=1, keepdims=True)
        T = cam - cam.mean(axis=1, keepdims=True)
        s = (X * T).sum(axis=(1, 2)) / (X * X).sum(axis=(1, 2))
        return np.linalg.norm(s[:, None, None] * X - T, axis=-1).mean(axis=1)

    assert error(hinted.joints3d)[changed].mean() < error(plain.joints3d)[changed].mean()


def test_bad_hints_give_a_per_frame_status(views):
    lifter, keypoints, _ = views
    relations = {0: [("left_wrist", "<", "nose")], 1: [("left_wrist", "<", "left_elbow")]}
    result = lifter.lift(keypoints[:3], depth_order=relations)
    assert list(result.status) == ["bad_input", "ok", "ok"]
    assert "depth_order relation 0" in result.message[0] and "'nose'" in result.message[0]
    with pytest.raises(ValueError, match="contradictory"):
        lifter.lift(keypoints[0], depth_order=[("head", "<", "pelvis"), ("pelvis", "<", "head")])
