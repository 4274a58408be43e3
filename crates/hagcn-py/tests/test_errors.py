"""Bad input raises ValueError or OSError with the CLI's message, never a crash."""

import numpy as np
import pytest

import hagcn
from conftest import clusters

FAST = dict(bits=8, objective="knn", epochs=1, batch_size=32, hidden=16)


@pytest.fixture(scope="module")
def fitted():
    x, _ = clusters(100, 8)
    return hagcn.Hasher(**FAST).fit(x)


def cli_error(cli, *args):
    proc = cli(*args, check=False)
    assert proc.returncode != 0
    return proc.stderr.strip().removeprefix("error: ")


def test_nan_rows_in_fit_name_the_row_and_column_as_the_dataset_reader_does(tmp_path, cli):
    x, labels = clusters(100, 8)
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"^X holds a non-finite value NaN at row 3, column 1$"):
        hagcn.Hasher(**FAST).fit(x)
    x[3, 1] = np.inf
    with pytest.raises(ValueError, match="non-finite value inf at row 3, column 1"):
        hagcn.Hasher(**FAST).fit(x.astype(np.float64))
    # the CLI's message for the same rows, with the file in place of X
    np.save(tmp_path / "features.npy", x)
    np.save(tmp_path / "labels.npy", labels)
    message = cli_error(cli, "train", "--dataset", tmp_path, "--out", tmp_path / "ck.npz")
    assert message.endswith("holds a non-finite value inf at row 3, column 1"), message


def test_nan_rows_in_encode_give_hagcn_encodes_message(tmp_path, cli, fitted):
    x, _ = clusters(5000, 8)
    x[4100, 2] = np.nan  # in the second block
    with pytest.raises(ValueError) as err:
        fitted.encode(x)
    fitted.save(tmp_path / "ck.npz")
    np.save(tmp_path / "x.npy", x)
    message = cli_error(cli, "encode", "--checkpoint", tmp_path / "ck.npz", "--input", tmp_path / "x.npy", "--out",
                        tmp_path / "c.npy")
    assert message.endswith(f"{tmp_path / 'x.npy'}: non-finite value at row 4100, column 2"), message
    assert str(err.value) == "X: non-finite value at row 4100, column 2"
    assert not (tmp_path / "c.npy").exists()


@pytest.mark.parametrize("bad, message", [
    (np.zeros((10, 8), dtype=np.int64), "X: expected float32 or float64 values, found dtype int64"),
    (np.zeros((10, 8), dtype=np.float16), "X: expected float32 or float64 values, found dtype float16"),
    (np.zeros(8, dtype=np.float32), r"X: expected a 2-D array \(n, d\) of float32 or float64, found shape \[8\]"),
    (np.zeros((2, 5, 8), dtype=np.float32), r"expected a 2-D array .* found shape \[2, 5, 8\]"),
    ("text", r"expected a 2-D array .* found shape \[\]"),
])
def test_wrong_dtype_or_shape(fitted, bad, message):
    with pytest.raises(ValueError, match=message):
        fitted.encode(bad)
    with pytest.raises(ValueError, match=message):
        hagcn.Hasher(**FAST).fit(bad)


def test_width_mismatch(tmp_path, cli, fitted):
    with pytest.raises(ValueError, match=r"^X has 7 features per row but the hasher expects 8$"):
        fitted.encode(np.zeros((3, 7), dtype=np.float32))
    q, db = np.zeros((2, 2), np.uint8), np.zeros((5, 3), np.uint8)
    with pytest.raises(ValueError) as err:
        hagcn.search(q, db)
    np.save(tmp_path / "q.npy", q)
    np.save(tmp_path / "db.npy", db)
    assert str(err.value) == cli_error(cli, "search", "--query", tmp_path / "q.npy", "--database", tmp_path / "db.npy")
    assert str(err.value) == "query codes are 2 bytes wide but database codes are 3: they come from different code lengths"
    with pytest.raises(ValueError, match="2 bytes wide but database codes are 3"):
        hagcn.evaluate(q, db, np.zeros(2, int), np.zeros(5, int))


def test_k_zero_and_other_search_input(tmp_path, cli):
    q = np.zeros((2, 2), np.uint8)
    with pytest.raises(ValueError, match=r"^k must be at least 1$"):
        hagcn.search(q, q, k=0)
    np.save(tmp_path / "q.npy", q)
    assert cli_error(cli, "search", "--query", tmp_path / "q.npy", "--database", tmp_path / "q.npy", "--k", 0) \
        == "--k must be at least 1"
    with pytest.raises(ValueError, match="db_codes: expected uint8 packed codes"):
        hagcn.search(q, q.astype(np.int32))
    with pytest.raises(ValueError, match="the database is empty"):
        hagcn.search(q, np.zeros((0, 2), np.uint8))
    with pytest.raises(ValueError, match="query set"):
        hagcn.search(np.zeros((0, 2), np.uint8), q)
    with pytest.raises(OverflowError):
        hagcn.search(q, q, k=-1)


def test_evaluate_input():
    q, db = np.zeros((2, 2), np.uint8), np.zeros((5, 2), np.uint8)
    with pytest.raises(ValueError, match="^query set has 2 codes but 3 labels$"):
        hagcn.evaluate(q, db, np.zeros(3, int), np.zeros(5, int))
    with pytest.raises(ValueError, match="^database has 5 codes but 4 labels$"):
        hagcn.evaluate(q, db, np.zeros(2, int), np.zeros(4, int))
    with pytest.raises(ValueError, match="query_labels: negative label -1 at 1"):
        hagcn.evaluate(q, db, np.array([0, -1]), np.zeros(5, int))
    with pytest.raises(ValueError, match="db_labels: expected integer labels, found dtype float64"):
        hagcn.evaluate(q, db, np.zeros(2, int), np.zeros(5))
    with pytest.raises(ValueError, match='map_at "0"'):
        hagcn.evaluate(q, db, np.zeros(2, int), np.zeros(5, int), map_at=[0])
    with pytest.raises(ValueError, match='map_at "most"'):
        hagcn.evaluate(q, db, np.zeros(2, int), np.zeros(5, int), map_at=["most"])


def test_settings_are_checked_with_the_clis_messages():
    with pytest.raises(ValueError, match=r'filter "foo": expected one of gcn, fourier, spline, cheby, lanczos'):
        hagcn.Hasher(filter="foo")
    with pytest.raises(ValueError, match=r'objective "KNN": expected one of hagcn, knn'):
        hagcn.Hasher(objective="KNN")
    with pytest.raises(ValueError, match='ablate "x"'):
        hagcn.Hasher(ablate=["x"])
    with pytest.raises(ValueError, match="CPU only"):
        hagcn.Hasher(device="cuda")
    with pytest.raises(ValueError, match="invalid configuration"):
        hagcn.Hasher(bits=0)
    x, _ = clusters(20, 8)
    with pytest.raises(ValueError, match=r"batch_size 32 is larger than the training set \(20 samples\)"):
        hagcn.Hasher(**FAST).fit(x)
    with pytest.warns(UserWarning, match="null space"):
        hagcn.Hasher(bits=8, filter="fourier", k=3, epochs=1, batch_size=40, hidden=8).fit(clusters(80, 8)[0])


def test_unfitted_hashers_and_files(tmp_path, fitted):
    with pytest.raises(ValueError, match="not fitted"):
        hagcn.Hasher().encode(np.zeros((1, 8), np.float32))
    with pytest.raises(ValueError, match="not fitted"):
        hagcn.Hasher().save(tmp_path / "x.npz")
    fitted.save(tmp_path / "ck.npz")
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        fitted.save(tmp_path / "ck.npz")
    fitted.save(tmp_path / "ck.npz", overwrite=True)
    with pytest.raises(FileNotFoundError):
        hagcn.Hasher.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(OSError, match="not a valid .npz"):
        hagcn.Hasher.load(tmp_path / "junk.npz")
    with pytest.raises(OSError):
        fitted.save(tmp_path / "no" / "such" / "folder.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.npz", "junk.npz"]  # no temporary files left
