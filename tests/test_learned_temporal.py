"""The temporal lifting network's runtime: its time bins, masks, units, causality, and its file (NumPy only).

The weights here are random (training is ``tests/test_learn_temporal.py``); what is checked is the
runtime's promises: the window encoding against a plain loop written from its definition, the per-frame
network's units and centring, missing frames and joints, gaps, causality, and the loader's refusals.
"""

import json

import numpy as np
import pytest

from lift2d3d.learned import (LiftingNetwork, NetworkFileError, TemporalNetwork, encode_frames, load_network,
                              load_temporal_network, normalise_keypoints, save_network, save_temporal_network)
from lift2d3d.learned.files import arrays_sha256
from lift2d3d.learned.network import n_inputs, n_outputs
from lift2d3d.learned.temporal import bin_edges, n_temporal_inputs

from test_learned import CRAFTED, _fix_checksum, _rewrite, random_network

P = 15


def random_temporal(seed=0, n_bins=5, bin_s=0.1, causal=False, hidden=(32, 16), metadata=None, zero_bins=False):
    rng = np.random.default_rng(seed)
    n_in = n_temporal_inputs(P, n_bins)
    sizes = (n_in,) + tuple(hidden) + (n_outputs(P),)
    weights = [rng.normal(size=(a, b)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])]
    if zero_bins:
        weights[0][n_inputs(P):] = 0.0
    return TemporalNetwork(weights=weights, biases=[rng.normal(size=b) * 0.1 for b in sizes[1:]],
                           input_offset=rng.normal(size=n_in) * 0.1, input_scale=1 + rng.random(n_in),
                           output_offset=rng.normal(size=sizes[-1]) * 0.1, output_scale=1 + rng.random(sizes[-1]),
                           skeleton="body15", edges=bin_edges(n_bins, bin_s, causal),
                           metadata=metadata or dict(source="test", inputs_sha256=None))


def walking_frames(n, seed=1, fps=30.0):
    """Pixel keypoints (n, 2, P) of a figure moving smoothly, weights 1, times in seconds."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(2, P)) * 60
    phase = rng.uniform(0, 2 * np.pi, (2, P))
    times = np.arange(n) / fps
    keypoints = (base[None] + 15 * np.sin(2 * np.pi * 0.8 * times[:, None, None] + phase[None])
                 + np.array([400.0, 300.0])[None, :, None] + 40 * times[:, None, None])
    return keypoints, np.ones((n, P)), times


def loop_window_inputs(W, w, times, edges, perspective=None):
    """The encoding from its definition, one frame and one bin at a time (the oracle)."""
    frame_inputs, _, ok = encode_frames(W, w, perspective)
    n_bins = len(edges) - 1
    out = np.zeros((len(W), n_temporal_inputs(P, n_bins)))
    for n in range(len(W)):
        out[n, :n_inputs(P)] = frame_inputs[n]
        for k in range(n_bins):
            lo, hi = times[n] + edges[k] + 1e-6, times[n] + edges[k + 1] + 1e-6
            inside = [m for m in range(len(W)) if lo < times[m] <= hi and ok[m]]
            block = out[n, n_inputs(P) + 3 * P * k:n_inputs(P) + 3 * P * (k + 1)]
            for p in range(P):
                seen = [m for m in inside if frame_inputs[m, 2 * P + p] > 0]
                if seen:
                    block[p] = np.mean([frame_inputs[m, p] for m in seen])
                    block[P + p] = np.mean([frame_inputs[m, P + p] for m in seen])
                    block[2 * P + p] = len(seen) / len(inside)
    return out


# ------------------------------------------------------------------------------------------- encoding
def test_bin_edges_centred_and_causal():
    np.testing.assert_allclose(bin_edges(4, 0.25), [-0.5, -0.25, 0.0, 0.25, 0.5])
    np.testing.assert_allclose(bin_edges(2, 0.5, causal=True), [-1.0, -0.5, 0.0])
    with pytest.raises(ValueError, match="at least one bin"):
        bin_edges(0, 0.1)


def test_window_inputs_are_the_bins_of_their_definition():
    keypoints, w, times = walking_frames(40)
    rng = np.random.default_rng(5)
    w[rng.random(w.shape) < 0.2] = 0.0          # missing joints
    w[7] = 0.0                                   # a frame without keypoints
    w[9, 2:] = 0.0                               # a frame with two joints
    keep = np.ones(40, dtype=bool)
    keep[[12, 13, 25]] = False                   # frames missing from the sequence
    times = times[keep] + rng.uniform(-0.004, 0.004, keep.sum())     # an uneven clock
    W, _, _ = normalise_keypoints(keypoints[keep], w[keep])
    perspective = np.column_stack([rng.uniform(0.05, 0.2, keep.sum()), rng.normal(0, 0.2, (keep.sum(), 2))])
    for net in (random_temporal(n_bins=5, bin_s=0.1), random_temporal(n_bins=4, bin_s=0.07, causal=True)):
        inputs, r, ok = net.window_inputs(W, w[keep], times, perspective)
        expected = loop_window_inputs(W, w[keep], times, net.edges, perspective)
        assert inputs.dtype == np.float32 and inputs.shape == expected.shape
        np.testing.assert_allclose(inputs, expected, rtol=1e-5, atol=1e-6)
        assert not ok[np.flatnonzero(keep)[:10].tolist().index(7)]


def test_a_network_that_ignores_its_bins_is_the_per_frame_network():
    # the first 3P + 3 inputs are the per-frame network's, and so are the outputs' units and centring
    temporal = random_temporal(zero_bins=True)
    first = temporal.weights[0][:n_inputs(P)]
    frame = LiftingNetwork(weights=(first,) + temporal.weights[1:], biases=temporal.biases,
                           input_offset=temporal.input_offset[:n_inputs(P)],
                           input_scale=temporal.input_scale[:n_inputs(P)], output_offset=temporal.output_offset,
                           output_scale=temporal.output_scale, skeleton="body15")
    keypoints, w, times = walking_frames(30)
    w = w * np.random.default_rng(3).uniform(0.2, 1.0, w.shape)
    w[4, :3] = 0.0
    W, t0, sigma = normalise_keypoints(keypoints, w)
    perspective = np.column_stack([sigma / 1000.0, (t0 - [640.0, 360.0]) / 1000.0])
    for persp in (None, perspective):
        X = temporal.predict_sequence(W, w, times, persp)
        assert X.shape == (30, 3, P) and X.dtype == np.float64
        np.testing.assert_allclose(X, frame.predict(W, w, persp), rtol=2e-5, atol=2e-5)
        np.testing.assert_allclose((X * w[:, None]).sum(axis=2), 0, atol=1e-9)


def test_missing_frames_are_frames_without_keypoints_and_long_gaps_split():
    net = random_temporal(n_bins=6, bin_s=0.1)
    keypoints, w, times = walking_frames(60)
    W, _, _ = normalise_keypoints(keypoints, w)
    dropped = np.ones(60, dtype=bool)
    dropped[[20, 21, 33]] = False
    w_blank = w.copy()
    w_blank[~dropped] = 0.0
    W_blank = np.where(dropped[:, None, None], W, np.nan)
    X_drop = net.predict_sequence(W[dropped], w[dropped], times[dropped])
    X_blank = net.predict_sequence(W_blank, w_blank, times)
    assert np.isnan(X_blank[~dropped]).all()
    np.testing.assert_allclose(X_blank[dropped], X_drop, rtol=1e-6, atol=1e-6)
    # two clips 5 s apart are lifted as if alone: nothing reaches across a gap wider than the window
    both = net.predict_sequence(np.concatenate([W[:30], W[30:]]), w, np.concatenate([times[:30], times[30:] + 5.0]))
    np.testing.assert_allclose(both[:30], net.predict_sequence(W[:30], w[:30], times[:30]), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(both[30:], net.predict_sequence(W[30:], w[30:], times[30:]), rtol=1e-6, atol=1e-6)
    # missing joints' values are never read
    w_missing = w.copy()
    w_missing[:, [3, 8]] = 0.0
    W_garbage = W.copy()
    W_garbage[:, :, [3, 8]] = 1e6
    np.testing.assert_array_equal(net.predict_sequence(W, w_missing, times),
                                  net.predict_sequence(W_garbage, w_missing, times))


def test_causal_answers_do_not_depend_on_later_frames_and_the_receptive_field_is_honest():
    causal = random_temporal(n_bins=4, bin_s=0.1, causal=True)
    centred = random_temporal(n_bins=4, bin_s=0.1)
    assert causal.causal and not centred.causal
    assert causal.receptive_field == (pytest.approx(0.4), 0.0)
    assert centred.receptive_field == (pytest.approx(0.2), pytest.approx(0.2))
    keypoints, w, times = walking_frames(50)
    W, _, _ = normalise_keypoints(keypoints, w)
    changed = W.copy()
    changed[30:] = W[30:][::-1]
    np.testing.assert_array_equal(causal.predict_sequence(W, w, times)[:30],
                                  causal.predict_sequence(changed, w, times)[:30])
    # a frame's answer depends on the frames in (t - before, t + after] only
    for net in (causal, centred):
        before, after = net.receptive_field
        n = 25
        outside = (times <= times[n] - before + 1e-6) | (times > times[n] + after + 1e-6)
        moved = W.copy()
        moved[outside] = W[outside][:, :, ::-1]
        np.testing.assert_array_equal(net.predict_sequence(W, w, times)[n], net.predict_sequence(moved, w, times)[n])
        inside = np.flatnonzero(~outside & (np.arange(50) != n))
        moved = W.copy()
        moved[inside] = W[inside][:, :, ::-1]
        assert not np.allclose(net.predict_sequence(W, w, times)[n], net.predict_sequence(moved, w, times)[n])


def test_test_time_flip_averages_the_mirrored_sequences_answer():
    net = random_temporal()
    keypoints, w, times = walking_frames(40)
    w[5, 3] = 0.0
    W, t0, sigma = normalise_keypoints(keypoints, w)
    perspective = np.column_stack([sigma / 900.0, (t0 - [640.0, 360.0]) / 900.0])
    mirror = list(net.skeleton.mirror_permutation())
    for persp in (None, perspective):
        plain = net.predict_sequence(W, w, times, persp, flip=False)
        W_m = W[:, :, mirror] * np.array([-1.0, 1.0])[None, :, None]
        row_m = None if persp is None else persp * [1.0, -1.0, 1.0]
        back = net.predict_sequence(W_m, w[:, mirror], times, row_m, flip=False)[:, :, mirror]
        back[:, 0] *= -1
        np.testing.assert_allclose(net.predict_sequence(W, w, times, persp, flip=True), 0.5 * (plain + back),
                                   rtol=1e-9, atol=1e-9)
    assert not net.flip
    flipping = random_temporal(metadata=dict(source="test", inputs_sha256=None, test_time_flip=True))
    assert flipping.flip
    np.testing.assert_array_equal(flipping.predict_sequence(W, w, times), flipping.predict_sequence(W, w, times,
                                                                                                     flip=True))


def test_predict_keypoints_and_chunks():
    net = random_temporal()
    keypoints, w, times = walking_frames(9000)          # three chunks of the window encoding
    W, t0, sigma = normalise_keypoints(keypoints, w)
    X = net.predict_sequence(W, w, times)
    pixels = net.predict_keypoints(keypoints.transpose(0, 2, 1), times=times)
    np.testing.assert_allclose(pixels, (X * sigma[:, None, None]).transpose(0, 2, 1), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(net.predict_keypoints(keypoints.transpose(0, 2, 1), fps=30.0), pixels)
    head = net.predict_sequence(W[:100], w[:100], times[:100])
    np.testing.assert_allclose(X[:90], head[:90], rtol=1e-6, atol=1e-6)    # the first frames do not see frame 100
    with pytest.raises(ValueError, match="needs a sequence"):
        net.predict_keypoints(keypoints[0].T)


@pytest.mark.parametrize("bad, message", [
    (dict(times=np.array([0.0, 0.1, 0.1, 0.3])), "strictly increasing"),
    (dict(times=np.array([0.0, 0.1, 0.1 + 1e-7, 0.3])), "microseconds apart"),
    (dict(times=np.array([0.0, 0.1, np.nan, 0.3])), "finite"),
    (dict(times=np.arange(3.0)), r"shape \(4,\)"),
    (dict(W=np.zeros((4, 2, 14))), r"\(n_frames, 2, 15\)"),
    (dict(w=-np.ones((4, P))), ">= 0"),
    (dict(perspective=np.zeros((4, 2))), "perspective"),
])
def test_predict_sequence_names_bad_arguments(bad, message):
    net = random_temporal()
    args = dict(W=np.random.default_rng(0).normal(size=(4, 2, P)), w=np.ones((4, P)), times=np.arange(4) / 30,
                perspective=None)
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        net.predict_sequence(**args)


def test_a_temporal_network_must_have_sane_bins_and_chain():
    with pytest.raises(ValueError, match="edges"):
        random_temporal().__class__(**{**_fields(random_temporal()), "edges": [0.1, 0.2]})
    with pytest.raises(ValueError, match="edges"):
        random_temporal().__class__(**{**_fields(random_temporal()), "edges": [-0.1, 0.2, 0.1]})
    with pytest.raises(ValueError, match="edges"):
        random_temporal().__class__(**{**_fields(random_temporal()), "edges": [-100.0, 0.0]})
    with pytest.raises(ValueError, match="layer 0"):      # 5 bins of weights, 4 bins of edges
        random_temporal().__class__(**{**_fields(random_temporal()), "edges": bin_edges(4, 0.1)})


def _fields(net):
    return dict(weights=net.weights, biases=net.biases, input_offset=net.input_offset, input_scale=net.input_scale,
                output_offset=net.output_offset, output_scale=net.output_scale, skeleton=net.skeleton,
                edges=net.edges, metadata=net.metadata)


# ------------------------------------------------------------------------------------------- files
def test_save_and_load_round_trip(tmp_path):
    net = random_temporal(causal=True, metadata=dict(source="unit test", inputs_sha256="abc", seed=3))
    path = save_temporal_network(net, tmp_path / "net.npz")
    loaded = load_temporal_network(path)
    assert loaded.metadata["seed"] == 3 and loaded.causal and loaded.metadata["causal"] is True
    assert loaded.metadata["receptive_field_s"] == [pytest.approx(0.5), 0.0]
    np.testing.assert_array_equal(loaded.edges, net.edges)
    keypoints, w, times = walking_frames(20)
    W, _, _ = normalise_keypoints(keypoints, w)
    np.testing.assert_array_equal(loaded.predict_sequence(W, w, times), net.predict_sequence(W, w, times))
    assert load_temporal_network(loaded) is loaded
    half = load_temporal_network(save_temporal_network(net, tmp_path / "half.npz", dtype="float16"))
    np.testing.assert_allclose(half.predict_sequence(W, w, times), net.predict_sequence(W, w, times), atol=0.05)
    # the two kinds are not confused
    with pytest.raises(NetworkFileError, match="not a lifting network"):
        load_network(path)
    frame_path = save_network(random_network(), tmp_path / "frame.npz")
    with pytest.raises(NetworkFileError, match="not a temporal lifting network"):
        load_temporal_network(frame_path)


TEMPORAL_CRAFTED = dict(CRAFTED)
TEMPORAL_CRAFTED.update({
    "a bases file": (lambda a, m: m.update(kind="shape-bases"), "not a temporal lifting network"),
    "layers that lie": (lambda a, m: (m.update(layers=[m["layers"][0], 20, 16, 45]), _fix_checksum(a, m)),
                        "layer 0"),
    "no bins": (lambda a, m: m.pop("bin_edges_s"), "lacks bin_edges_s"),
    "bins not a list": (lambda a, m: m.update(bin_edges_s="-0.25..0.25"), "bin_edges_s"),
    "bins of bools": (lambda a, m: m.update(bin_edges_s=[True, False]), "bin_edges_s"),
    "bins of text": (lambda a, m: m.update(bin_edges_s=["-1", "0"]), "bin_edges_s"),
    "bins out of order": (lambda a, m: m.update(bin_edges_s=m["bin_edges_s"][::-1]), "edges"),
    "bins of another window": (lambda a, m: m.update(bin_edges_s=m["bin_edges_s"][:-1]), "layer 0"),
    "bins a day wide": (lambda a, m: m.update(bin_edges_s=[e * 1e6 for e in m["bin_edges_s"]]), "edges"),
    "the per-frame encoding": (lambda a, m: m.update(input_encoding="body-xy-used-perspective/1"),
                               "input encoding"),
})


@pytest.mark.parametrize("case", sorted(TEMPORAL_CRAFTED))
def test_crafted_and_corrupt_files_give_a_clean_error_naming_the_file(tmp_path, case):
    path = save_temporal_network(random_temporal(), tmp_path / "good.npz")
    out = tmp_path / "crafted.npz"
    change, message = TEMPORAL_CRAFTED[case]
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
        load_temporal_network(out)
    assert str(out) in str(error.value)


def test_unreadable_files_and_names(tmp_path):
    with pytest.raises(NetworkFileError, match="not found"):
        load_temporal_network(tmp_path / "nothing.npz")
    with pytest.raises(NetworkFileError, match="shipped networks by name: default, cmu, causal, cmu-causal"):
        load_temporal_network("resnet")
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(NetworkFileError, match="not a readable"):
        load_temporal_network(text)
    good = save_temporal_network(random_temporal(), tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(NetworkFileError, match=str(truncated)):
        load_temporal_network(truncated)
    with np.load(good, allow_pickle=False) as data:
        assert json.loads(str(data["metadata"]))["arrays_sha256"] == arrays_sha256(
            {k: data[k] for k in data.files if k != "metadata"})
