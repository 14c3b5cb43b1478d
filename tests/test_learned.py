"""The learned room: the lifting network's file, its checks, and its forward pass (NumPy only).

The network's weights here are random (a trained one is the business of
``tests/test_learn_lifter.py``); what is checked is the runtime's promises:
units and centring, masks, the solver's normalisation, and that no file a user
can hand the loader ends in a traceback.
"""

import json
import zipfile

import numpy as np
import pytest

from lift2d3d.learned import (LiftingNetwork, NetworkFileError, encode_frames, load_network, normalise_keypoints,
                              save_network)
from lift2d3d.learned.files import FORMAT_VERSION, arrays_sha256
from lift2d3d.learned.network import n_inputs, n_outputs

P = 15


def random_network(seed=0, hidden=(32, 16), metadata=None):
    rng = np.random.default_rng(seed)
    sizes = (n_inputs(P),) + tuple(hidden) + (n_outputs(P),)
    return LiftingNetwork(weights=[rng.normal(size=(a, b)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])],
                          biases=[rng.normal(size=b) * 0.1 for b in sizes[1:]],
                          input_offset=rng.normal(size=sizes[0]) * 0.1, input_scale=1 + rng.random(sizes[0]),
                          output_offset=rng.normal(size=sizes[-1]) * 0.1, output_scale=1 + rng.random(sizes[-1]),
                          skeleton="body15", metadata=metadata or dict(source="test", inputs_sha256=None))


def random_frames(n, seed=1):
    rng = np.random.default_rng(seed)
    keypoints = rng.normal(size=(n, 2, P)) * 80 + rng.uniform(100, 900, size=(n, 2, 1))
    return keypoints, np.ones((n, P))


def numpy_forward(net, inputs):
    """The layers in float64, from the file's arrays: the oracle for the float32 chunked pass."""
    inputs = inputs.astype(np.float32).astype(np.float64)
    h = (inputs - net.input_offset.astype(np.float64)) * net.input_scale
    for i, (a, b) in enumerate(zip(net.weights, net.biases)):
        h = h @ a.astype(np.float64) + b
        if i < len(net.weights) - 1:
            h = np.maximum(h, 0.0)
    out = h * net.output_scale + net.output_offset
    out[:, :2 * P] += inputs[:, :2 * P]         # the skip connection: the layers answer 3D minus the used 2D
    return out


# ------------------------------------------------------------------------------------------- units
def test_normalise_keypoints_is_the_solvers_normalisation():
    from lift2d3d.solvers.batch import normalise_frames
    from lift2d3d.solvers.records import frame_results, frames_record, new_work

    keypoints, w = random_frames(6)
    w = w * np.random.default_rng(2).uniform(0.2, 1.0, w.shape)
    w[0, :4] = 0.0
    keypoints[0, :, :4] = np.nan
    W, t0, sigma = normalise_keypoints(keypoints, w)
    info = frame_results(len(W))
    work = new_work(len(W), P, 1, info)
    frames = frames_record(np.nan_to_num(keypoints), w, np.zeros(len(W), dtype=np.int64))
    normalise_frames(frames, work, np.ones(len(W), dtype=bool))
    W_solver = work.W
    np.testing.assert_allclose(np.where(w[:, None] > 0, W, 0), np.where(w[:, None] > 0, W_solver, 0), atol=1e-12)
    np.testing.assert_allclose(sigma, info["sigma"], rtol=1e-12)
    np.testing.assert_allclose(t0, np.stack([info["t0x"], info["t0y"]], axis=1), rtol=1e-12)


def test_weak_perspective_answer_is_centred_at_the_weighted_centroid_and_weights_only_move_the_centre():
    net = random_network()
    keypoints, w = random_frames(20)
    conf = np.random.default_rng(3).uniform(0.1, 1.0, w.shape)
    W1, _, _ = normalise_keypoints(keypoints, w)
    W2, _, s2 = normalise_keypoints(keypoints, conf)
    X1, X2 = net.predict(W1, w), net.predict(W2, conf)
    assert X1.shape == (20, 3, P) and X1.dtype == np.float64
    np.testing.assert_allclose((X2 * conf[:, None]).sum(axis=2), 0, atol=1e-9)
    _, _, s1 = normalise_keypoints(keypoints, w)
    # the same pose in other units and about another centre: equal after centring both in pixels
    P1 = X1 * s1[:, None, None]
    P2 = X2 * s2[:, None, None]
    np.testing.assert_allclose(P1 - P1.mean(axis=2, keepdims=True), P2 - P2.mean(axis=2, keepdims=True),
                               rtol=1e-4, atol=1e-3 * np.abs(P1).max())


def test_missing_joints_are_masked_whatever_their_values():
    net = random_network()
    keypoints, w = random_frames(8)
    w[:, [2, 7]] = 0.0
    W, _, _ = normalise_keypoints(keypoints, w)
    other = W.copy()
    other[:, :, [2, 7]] = np.nan
    np.testing.assert_array_equal(net.predict(W, w), net.predict(other, w))
    other[:, :, [2, 7]] = 1e30
    np.testing.assert_array_equal(net.predict(W, w), net.predict(other, w))


def test_unusable_frames_give_nan_rows_and_the_others_are_unchanged():
    net = random_network()
    keypoints, w = random_frames(5)
    W, _, _ = normalise_keypoints(keypoints, w)
    w_bad = w.copy()
    w_bad[1] = 0.0                     # nothing used
    w_bad[2, 1:] = 0.0                 # one joint
    W_bad = W.copy()
    W_bad[3, 0, 5] = np.nan            # a used coordinate that is not finite
    X = net.predict(W_bad, w_bad)
    assert np.isnan(X[1:4]).all()
    np.testing.assert_array_equal(X[[0, 4]], net.predict(W[[0, 4]], w[[0, 4]]))


def test_forward_pass_matches_a_float64_twin_in_chunks():
    net = random_network(hidden=(64, 64))
    inputs = np.random.default_rng(4).normal(size=(9000, n_inputs(P)))   # three chunks
    np.testing.assert_allclose(net.forward(inputs), numpy_forward(net, inputs), rtol=1e-4, atol=1e-4)


def test_encoding_carries_the_perspective_row_into_the_plain_units():
    keypoints, w = random_frames(4)
    w[:, :3] = np.array([0.5, 0.2, 0.0])
    focal, principal = 900.0, np.array([640.0, 360.0])
    W, t0, sigma = normalise_keypoints(keypoints, w)
    row = np.column_stack([sigma / focal, (t0 - principal) / focal])
    inputs, r, ok = encode_frames(W, w, row)
    used = w > 0
    # the same frames normalised with plain weights over the used joints
    W_u, t0_u, sigma_u = normalise_keypoints(keypoints, used.astype(float))
    np.testing.assert_allclose(inputs[:, :P], W_u[:, 0], atol=1e-12)
    np.testing.assert_allclose(inputs[:, 2 * P:3 * P], used)
    np.testing.assert_allclose(inputs[:, 3 * P], sigma_u / focal, rtol=1e-12)
    np.testing.assert_allclose(inputs[:, 3 * P + 1:], (t0_u - principal) / focal, rtol=1e-12)
    np.testing.assert_allclose(r, sigma_u / sigma, rtol=1e-12)
    assert ok.all()


def test_predict_keypoints_weak_and_perspective():
    net = random_network()
    keypoints, _ = random_frames(3)
    points = keypoints.transpose(0, 2, 1).copy()
    points[1, 4] = np.nan
    weak = net.predict_keypoints(points)
    assert weak.shape == (3, P, 3) and np.isfinite(weak).all()
    one = net.predict_keypoints(points[0])
    np.testing.assert_allclose(one, weak[0])
    persp = net.predict_keypoints(points, focal=1000.0, principal=(640, 360))
    assert np.isfinite(persp).all() and not np.allclose(persp, weak)
    with pytest.raises(ValueError, match="focal"):
        net.predict_keypoints(points, focal=-1.0)
    with pytest.raises(ValueError, match=r"\(n_frames, 15, 2\)"):
        net.predict_keypoints(points[:, :14])


@pytest.mark.parametrize("bad, message", [
    (lambda W, w: (W[:, :, :14], w[:, :14]), "shape"),
    (lambda W, w: (W, w[:-1]), "joint weights"),
    (lambda W, w: (W, -w), ">= 0"),
    (lambda W, w: (W, w * np.nan), "finite"),
])
def test_predict_names_bad_arguments(bad, message):
    net = random_network()
    W, w = random_frames(3)
    with pytest.raises(ValueError, match=message):
        net.predict(*bad(W, w))
    with pytest.raises(ValueError, match="perspective"):
        net.predict(W, w, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="perspective"):
        net.predict(W, w, -np.ones((3, 3)))


def test_a_network_must_chain():
    net = random_network()
    with pytest.raises(ValueError, match="chain"):
        LiftingNetwork(weights=net.weights[:1] + net.weights[2:], biases=net.biases[:2], input_offset=net.input_offset,
                       input_scale=net.input_scale, output_offset=net.output_offset, output_scale=net.output_scale,
                       skeleton="body15")
    with pytest.raises(ValueError, match="NaN"):
        LiftingNetwork(weights=[w * np.nan for w in net.weights], biases=net.biases, input_offset=net.input_offset,
                       input_scale=net.input_scale, output_offset=net.output_offset, output_scale=net.output_scale,
                       skeleton="body15")


# ------------------------------------------------------------------------------------------- files
def test_save_and_load_round_trip(tmp_path):
    net = random_network(metadata=dict(source="unit test", inputs_sha256="abc", seed=3))
    path = save_network(net, tmp_path / "net.npz")
    loaded = load_network(path)
    assert loaded.metadata["seed"] == 3 and loaded.metadata["format_version"] == FORMAT_VERSION
    assert loaded.layer_sizes == net.layer_sizes and loaded.joint_names == net.joint_names
    W, w = random_frames(10)
    W, _, _ = normalise_keypoints(W, w)
    np.testing.assert_array_equal(loaded.predict(W, w), net.predict(W, w))
    assert load_network(loaded) is loaded
    with np.load(path, allow_pickle=False) as data:
        assert data["weights_0"].dtype == np.float32
    half = load_network(save_network(net, tmp_path / "half.npz", dtype="float16"))
    np.testing.assert_allclose(half.predict(W, w), net.predict(W, w), rtol=0.02, atol=0.02)
    assert (tmp_path / "half.npz").stat().st_size < path.stat().st_size


def _rewrite(path, out, change):
    """Copy a network file with ``change(arrays, metadata)`` applied (the checksum left as it was unless fixed)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    metadata = json.loads(str(arrays.pop("metadata")))
    change(arrays, metadata)
    np.savez(out, metadata=np.array(json.dumps(metadata)), **arrays)
    return out


def _fix_checksum(arrays, metadata):
    metadata["arrays_sha256"] = arrays_sha256(arrays)


CRAFTED = {
    "a changed weight": (lambda a, m: a["weights_1"].__setitem__((0, 0), 5.0), "checksum mismatch"),
    "no metadata": (None, "no 'metadata'"),
    "metadata not JSON": (None, "not valid JSON"),
    "metadata a list": (None, "JSON object"),
    "no card source": (lambda a, m: m.pop("source"), "lacks source"),
    "a bases file": (lambda a, m: m.update(kind="shape-bases"), "not a lifting network"),
    "a newer format": (lambda a, m: m.update(format_version=99), "format_version 99"),
    "another encoding": (lambda a, m: m.update(input_encoding="rgb"), "input encoding"),
    "unknown activation": (lambda a, m: m.update(activation="gelu"), "activation"),
    "layers not a list": (lambda a, m: m.update(layers="48-45"), "'layers'"),
    "layers of bools": (lambda a, m: m.update(layers=[True, True]), "'layers'"),
    "a missing layer": (lambda a, m: (a.pop("weights_2"), _fix_checksum(a, m)), "missing weights_2"),
    "an extra array": (lambda a, m: (a.update(extra=np.zeros(3)), _fix_checksum(a, m)), "unexpected extra"),
    "integer weights": (lambda a, m: (a.update(weights_0=a["weights_0"].astype(np.int32)), _fix_checksum(a, m)),
                        "int32"),
    "a wrong shape": (lambda a, m: (a.update(biases_0=a["biases_0"][:-1]), _fix_checksum(a, m)), "layer 0"),
    "layers that lie": (lambda a, m: (m.update(layers=[48, 20, 16, 45]), _fix_checksum(a, m)), "layer 0"),
    "NaN weights": (lambda a, m: (a["weights_0"].__setitem__((0, 0), np.nan), _fix_checksum(a, m)), "NaN"),
    "wrong standardisation": (lambda a, m: (a.update(input_scale=a["input_scale"][:5]), _fix_checksum(a, m)),
                              "input_scale"),
    "unknown skeleton": (lambda a, m: m.update(skeleton="body99"), "body99"),
    "skeleton a list": (lambda a, m: m.update(skeleton=["body15"]), "unknown skeleton"),
    "joint names out of order": (lambda a, m: m.update(joint_names=m["joint_names"][::-1]), "joint_names"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_and_corrupt_files_give_a_clean_error_naming_the_file(tmp_path, case):
    path = save_network(random_network(), tmp_path / "good.npz")
    out = tmp_path / "crafted.npz"
    change, message = CRAFTED[case]
    if case == "no metadata":
        with np.load(path) as data:
            np.savez(out, **{k: data[k] for k in data.files if k != "metadata"})
    elif case in ("metadata not JSON", "metadata a list"):
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files if k != "metadata"}
        np.savez(out, metadata=np.array("{not json" if case == "metadata not JSON" else "[1, 2]"), **arrays)
    else:
        _rewrite(path, out, change)
    with pytest.raises(NetworkFileError, match=message) as error:
        load_network(out)
    assert str(out) in str(error.value)


def test_unreadable_files(tmp_path):
    missing = tmp_path / "nothing.npz"
    with pytest.raises(NetworkFileError, match="not found"):
        load_network(missing)
    with pytest.raises(NetworkFileError, match="shipped networks by name: default, cmu"):
        load_network("resnet")
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(NetworkFileError, match="not a readable"):
        load_network(text)
    truncated = tmp_path / "truncated.npz"
    good = save_network(random_network(), tmp_path / "good.npz")
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(NetworkFileError, match=str(truncated)):
        load_network(truncated)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, metadata=np.array([{"a": 1}], dtype=object))
    with pytest.raises(NetworkFileError, match=str(pickled)):
        load_network(pickled)
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("weights_0.npy", b"\0" * (300 * 1024 * 1024))
    with pytest.raises(NetworkFileError, match="more than"):
        load_network(bomb)


def test_flip_averages_with_the_mirrored_frame_and_is_mirror_symmetric():
    net = random_network(metadata=dict(source="test", inputs_sha256=None, test_time_flip=True))
    assert net.flip and not random_network().flip
    keypoints, w = random_frames(6)
    w[0, 3] = 0.0
    W, t0, sigma = normalise_keypoints(keypoints, w)
    row = np.column_stack([sigma / 800.0, (t0 - 500.0) / 800.0])
    mirror = np.array(net.skeleton.mirror_permutation())
    sign = np.array([-1.0, 1.0, 1.0])[None, :, None]
    for perspective in (None, row):
        X = net.predict(W, w, perspective)
        plain, other = net.predict(W, w, perspective, flip=False), random_network().predict(W, w, perspective)
        np.testing.assert_array_equal(other, plain)
        W_m = W[:, :, mirror] * sign[:, :2]
        row_m = None if perspective is None else perspective * [1.0, -1.0, 1.0]
        mirrored = net.predict(W_m, w[:, mirror], row_m, flip=False)[:, :, mirror] * sign
        np.testing.assert_allclose(X, 0.5 * (plain + mirrored), atol=1e-12)
        # the mirrored frame's flipped answer is the mirror of this one's
        np.testing.assert_allclose(net.predict(W_m, w[:, mirror], row_m)[:, :, mirror] * sign, X, atol=1e-9)
        np.testing.assert_allclose((X * w[:, None]).sum(axis=2), 0, atol=1e-9)


# ----------------------------------------------------------------------------- the shipped networks


@pytest.mark.parametrize("name", ["default", "causal"])
def test_shipped_networks_carry_their_provenance_and_card(name):
    """Every shipped network loads by name (its arrays against their SHA-256), was learned from the default bases'
    files (the same ``inputs_sha256``), records the command that re-creates it, and its card in bases/README.md
    quotes its checksum."""
    from pathlib import Path

    from lift2d3d.bases import ShapeBases
    from lift2d3d.learned import load_temporal_network

    card = (Path(__file__).resolve().parent.parent / "bases" / "README.md").read_text()
    networks = [load_temporal_network(name)] + ([load_network(name)] if name == "default" else [])
    for network in networks:
        meta = network.metadata
        assert tuple(network.joint_names) == ShapeBases.load("default").joint_names
        assert meta["inputs_sha256"] == ShapeBases.load("default").metadata["inputs_sha256"]
        assert meta["command"].startswith("lift2d3d learn-lifter --mocap ")
        assert meta["arrays_sha256"] in card


@pytest.mark.parametrize("temporal", [None, "default", "causal"])
def test_the_shipped_networks_lift_a_video(temporal):
    """Lifter(method="fused") with the shipped networks over a short video of the bases' poses (random atom
    mixtures, not people): close to its keypoints (the networks' job is the depths the keypoints leave open),
    nothing failed, at most a few frames whose prior disagrees flagged."""
    from lift2d3d import Lifter
    from test_fusion import basis_video

    lifter = Lifter(temporal_network=temporal)
    keypoints, _ = basis_video(lifter.bases, 30, seed=2, noise_px=1.0)
    result = lifter.lift_sequence(keypoints)
    size = np.sqrt(((keypoints - keypoints.mean(axis=1, keepdims=True)) ** 2).sum(axis=2).mean(axis=1))
    assert result.ok.mean() >= 0.9 and set(result.status) <= {"ok", "suspect_input"}
    assert np.median(result.reprojection_error / size) < 0.08


def test_a_frames_answer_does_not_depend_on_its_batch():
    """The shipped network answers a frame the same, bit for bit, alone, in a small batch or in a large one
    (BLAS rounds small products differently: ``network.MIN_ROWS``), so a chunked or distributed lift equals
    the lift in one piece."""
    net = load_network("default")
    keypoints, w = random_frames(300, seed=4)
    W = normalise_keypoints(keypoints, w)[0]
    whole = net.predict(W, w)
    for start, n in ((0, 1), (5, 7), (40, 50), (100, 200)):
        np.testing.assert_array_equal(net.predict(W[start:start + n], w[start:start + n]), whole[start:start + n])
