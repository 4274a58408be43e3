"""The package computes what the CLI computes: the same checkpoint, codes, neighbours and
mAP for the same inputs and settings."""

import numpy as np
import pytest

import hagcn
from conftest import clusters, write_dataset

# Small settings so that a training run takes a fraction of a second.
SETTINGS = [
    dict(bits=16, objective="knn", filter="gcn", seed=7, epochs=2, batch_size=64, hidden=32),
    dict(bits=12, objective="hagcn", filter="cheby", k=3, seed=3, epochs=2, batch_size=50, hidden=24),
    # the neighbourhood filter and the ITQ read-out: parts fitted on the training set
    dict(bits=8, objective="knn", filter="gcn", seed=11, epochs=2, batch_size=64, hidden=32, anchors=20, hops=2,
         readout="itq"),
    # ... and the logits propagated over the anchor graph
    dict(bits=8, objective="knn", filter="gcn", seed=5, epochs=2, batch_size=64, hidden=32, anchors=20, hops=2,
         code_hops=2, readout="itq"),
]


def cli_flags(settings):
    return [a for key, value in settings.items() for a in (f"--{key.replace('_', '-')}", value)]


def npz_arrays(path):
    with np.load(path) as z:
        return {name: z[name] for name in z.files}


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: f"{s['objective']}-{s['filter']}-{s.get('readout', 'sign')}")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_and_encode_equal_hagcn_train_and_encode(tmp_path, cli, settings, dtype):
    x, labels = clusters(300, 24, dtype=dtype)
    data = write_dataset(tmp_path / "data", x, labels)
    cli("train", "--dataset", data, "--out", tmp_path / "cli.npz", *cli_flags(settings))
    cli("encode", "--checkpoint", tmp_path / "cli.npz", "--input", data / "features.npy", "--out", tmp_path / "codes.npy")

    h = hagcn.Hasher(**settings).fit(x)
    h.save(tmp_path / "py.npz")
    assert (tmp_path / "py.npz").read_bytes() == (tmp_path / "cli.npz").read_bytes()
    codes = h.encode(x)
    assert codes.dtype == np.uint8 and codes.shape == (300, (settings["bits"] + 7) // 8)
    np.testing.assert_array_equal(codes, np.load(tmp_path / "codes.npy"))
    # and the CLI's checkpoint, loaded, encodes the same
    np.testing.assert_array_equal(hagcn.Hasher.load(tmp_path / "cli.npz").encode(x), codes)


def test_a_checkpoint_saved_from_python_encodes_the_same_in_the_cli(tmp_path, cli):
    x, _ = clusters(5000, 12)  # more rows than one 4096-row block
    h = hagcn.Hasher(bits=20, objective="knn", epochs=1, hidden=16).fit(x[:400])
    h.save(tmp_path / "py.npz")
    np.save(tmp_path / "x.npy", x)
    cli("encode", "--checkpoint", tmp_path / "py.npz", "--input", tmp_path / "x.npy", "--out", tmp_path / "c.npy")
    np.testing.assert_array_equal(h.encode(x), np.load(tmp_path / "c.npy"))


def random_codes(n, n_bytes, seed):
    # few distinct codes, so that rankings are full of ties
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 4, (n, n_bytes)) * 17).astype(np.uint8)


@pytest.mark.parametrize("k", [1, 10, 700, 5000])
def test_search_equals_hagcn_search(tmp_path, cli, k):
    q, db = random_codes(37, 3, 1), random_codes(700, 3, 2)
    np.save(tmp_path / "q.npy", q)
    np.save(tmp_path / "db.npy", db)
    cli("search", "--query", tmp_path / "q.npy", "--database", tmp_path / "db.npy", "--k", k,
        "--out-indices", tmp_path / "i.npy", "--out-distances", tmp_path / "d.npy", "--block-codes", 64)
    distances, indices = hagcn.search(q, db, k=k)
    assert distances.dtype == np.int32 and indices.dtype == np.int64
    assert indices.shape == (37, min(k, 700))
    np.testing.assert_array_equal(indices, np.load(tmp_path / "i.npy"))
    np.testing.assert_array_equal(distances, np.load(tmp_path / "d.npy"))


def test_search_is_a_brute_force_hamming_ranking():
    q, db = random_codes(5, 2, 3), random_codes(50, 2, 4)
    distances, indices = hagcn.search(q, db, k=50)
    bits = lambda c: np.unpackbits(c, axis=1)  # noqa: E731
    full = (bits(q)[:, None, :] != bits(db)[None, :, :]).sum(axis=2)
    expected = np.argsort(full, axis=1, kind="stable")  # ties by database index
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_array_equal(distances, np.take_along_axis(full, expected, axis=1))


def test_evaluate_equals_hagcn_eval(tmp_path, cli):
    q, db = random_codes(40, 2, 5), random_codes(600, 2, 6)
    rng = np.random.default_rng(7)
    ql, dbl = rng.integers(0, 3, 40), rng.integers(0, 3, 600).astype(np.int32)
    for name, a in dict(q=q, db=db, ql=ql, dbl=dbl).items():
        np.save(tmp_path / f"{name}.npy", a)
    out = cli("eval", "--query-codes", tmp_path / "q.npy", "--db-codes", tmp_path / "db.npy", "--query-labels",
              tmp_path / "ql.npy", "--db-labels", tmp_path / "dbl.npy", "--map-at", "10,200,all").stdout
    printed = {line.split("\t")[0]: float(line.split("\t")[1]) for line in out.splitlines()}
    maps = hagcn.evaluate(q, db, ql, dbl, map_at=[10, 200, "all"])
    assert list(maps) == [10, 200, "all"]
    for key, value in maps.items():
        assert abs(value - printed[f"mAP@{key}"]) <= 5e-7, (key, value, printed)
    assert hagcn.evaluate(q, db, ql, dbl) == {200: maps[200], "all": maps["all"]}  # the CLI's default
