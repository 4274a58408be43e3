"""How the package behaves in a Python program: layouts, checkpoints, the GIL, Ctrl-C,
defaults, OpenBLAS's kernels."""

import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import hagcn
from conftest import clusters

FAST = dict(bits=12, objective="knn", epochs=1, batch_size=32, hidden=16)


def test_every_layout_and_dtype_encodes_alike():
    x, _ = clusters(300, 10)
    h = hagcn.Hasher(**FAST).fit(x)
    codes = h.encode(x)
    np.testing.assert_array_equal(h.encode(np.asfortranarray(x)), codes)
    np.testing.assert_array_equal(h.encode(x.astype(np.float64)), codes)
    wide = np.zeros((300, 20), np.float32)
    wide[:, ::2] = x
    np.testing.assert_array_equal(h.encode(wide[:, ::2]), codes)  # strided columns
    np.testing.assert_array_equal(h.encode(x[::-1])[::-1], codes)  # negative row stride
    np.testing.assert_array_equal(h.encode(x.tolist()), codes)  # lists go through numpy.asarray
    assert h.encode(x[:0]).shape == (0, 2)
    # a fit on Fortran-ordered or float64 rows is the fit on the C-ordered float32 rows
    for same in (np.asfortranarray(x), x.astype(np.float64)):
        np.testing.assert_array_equal(hagcn.Hasher(**FAST).fit(same).encode(x), codes)


def test_save_load_and_refit(tmp_path):
    x, _ = clusters(300, 10)
    settings = dict(bits=10, objective="knn", filter="gcn", hidden=16, anchors=12, readout="itq")
    h = hagcn.Hasher(**settings).fit(x)  # the default loop: 20 epochs of batches of 128, seed 42
    assert h.is_fitted and h.n_features == 10 and h.steps == 20 * 3
    h.save(tmp_path / "h.npz")
    loaded = hagcn.Hasher.load(tmp_path / "h.npz")
    assert loaded.steps == h.steps and loaded.params == h.params
    np.testing.assert_array_equal(loaded.encode(x), h.encode(x))
    # fit retrains the loaded hasher from scratch with the checkpoint's settings
    assert loaded.fit(x[:200]) is loaded
    np.testing.assert_array_equal(loaded.encode(x), hagcn.Hasher(**settings).fit(x[:200]).encode(x))
    assert "fitted on 10 features" in repr(loaded)


def test_defaults_are_hagcn_trains():
    # the same list as the type stub (python/hagcn/_hagcn.pyi) shows
    assert hagcn.Hasher().params == dict(
        bits=32, objective="hagcn", filter="gcn", k=18, seed=42, device="cpu", epochs=20, batch_size=128,
        hidden=768, lr=1e-4, gamma=1e-4, knn=5, regularization=0.1, anchors=0, nearest_anchors=3, hops=2, code_hops=0,
        readout="sign", ablate=[])
    assert not hagcn.Hasher().is_fitted and hagcn.Hasher().n_features is None


def in_thread(f):
    """Runs `f` in a thread; returns the thread and a dict that gets its start and end times."""
    times = {}

    def run():
        times["start"] = time.perf_counter()
        f()
        times["end"] = time.perf_counter()

    t = threading.Thread(target=run)
    t.start()
    return t, times


@pytest.mark.parametrize("what", ["fit", "encode", "search", "evaluate"])
def test_the_gil_is_released(what):
    x, _ = clusters(8000, 32)
    h = hagcn.Hasher(**FAST).fit(x[:500])
    codes = h.encode(x)
    # Each call on `scale` copies of its data (made before the call is timed); the scale grows
    # until the call lasts long enough to tell, whatever the machine's speed.
    def work(scale):
        if what == "fit":
            return lambda: hagcn.Hasher(**{**FAST, "epochs": 2 * scale}).fit(x[:3000])
        if what == "encode":
            rows = np.concatenate([x] * scale)
            return lambda: h.encode(rows)
        db = np.concatenate([codes] * 4 * scale)
        if what == "search":
            return lambda: hagcn.search(codes[:500], db, k=10)
        return lambda: hagcn.evaluate(codes[:500], db, np.zeros(500, int), np.zeros(len(db), int), map_at=[10])

    for scale in (1, 4, 16, 64):
        ticks = []
        thread, times = in_thread(work(scale))
        while thread.is_alive():
            ticks.append(time.perf_counter())
        thread.join()
        start, end = times["start"] + 0.02, times["end"] - 0.02
        if end - start > 0.2:
            break
    assert end - start > 0.2, "the call was too short to tell"
    inside = sum(start < t < end for t in ticks)
    assert inside > 100, f"the main thread ran {inside} times during a {end - start:.2f} s call"


INTERRUPTED = """
import os, signal, sys, threading, time, pathlib
import numpy as np
import hagcn
rng = np.random.default_rng(0)
x = rng.standard_normal((4000, 64)).astype(np.float32)
h = hagcn.Hasher(bits=16, objective="knn", epochs=1, batch_size=64, hidden=32).fit(x[:200])
codes = h.encode(x)
work = {
    "fit": lambda: hagcn.Hasher(bits=16, objective="knn", epochs=10000, batch_size=64, hidden=32).fit(x),
    "encode": lambda: [h.encode(x) for _ in range(10000)] and None,
    "encode-one-call": lambda: h.encode(np.concatenate([x] * 200)),
    "search": lambda: hagcn.search(codes, np.concatenate([codes] * 200), k=10),
    "evaluate": lambda: hagcn.evaluate(codes, np.concatenate([codes] * 200), np.zeros(4000, int),
                                       np.zeros(800000, int), map_at=[100]),
}[sys.argv[1]]
def interrupt():
    time.sleep(1.0)
    globals()["sent"] = time.perf_counter()
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=interrupt, daemon=True).start()
try:
    work()
    print("finished")
except KeyboardInterrupt:
    print(f"interrupted after {time.perf_counter() - sent:.3f}")
"""


@pytest.mark.parametrize("what", ["fit", "encode-one-call", "search", "evaluate"])
def test_ctrl_c_raises_keyboard_interrupt_within_a_second(tmp_path, what):
    proc = subprocess.run([sys.executable, "-c", INTERRUPTED, what], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    words = proc.stdout.split()
    assert words[:2] == ["interrupted", "after"], proc.stdout
    assert float(words[2]) < 1.0, proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_fit_leaves_the_hasher_as_it_was(tmp_path):
    x, _ = clusters(3000, 32)
    h = hagcn.Hasher(bits=8, objective="knn", epochs=1, batch_size=64, hidden=16).fit(x[:100])
    before = h.encode(x)
    long = hagcn.Hasher(bits=8, objective="knn", epochs=100000, batch_size=64, hidden=16)
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        long.fit(x)
    assert not long.is_fitted
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        h.fit(np.concatenate([x] * 30))
    np.testing.assert_array_equal(h.encode(x), before)


def test_openblas_gets_its_fast_kernels_without_leaking_the_setting():
    script = "import os, hagcn; print(hagcn.openblas_corename(), os.environ.get('OPENBLAS_CORETYPE'))"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    avx512 = hagcn._cpu_has_avx512()
    core, leaked = out.stdout.split()
    assert leaked == "None"
    if avx512:
        assert core == "SkylakeX"
    assert out.stderr == ""
    # a kernel the user chose is respected
    env["OPENBLAS_CORETYPE"] = "Haswell"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["Haswell", "Haswell"]


def test_evaluate_in_blocks_of_queries_equals_one_call(cli, tmp_path):
    # 5000 queries against 2000 codes: several blocks of queries; the mean is taken over all
    # of them in query order, so the numbers equal hagcn eval's to the printed digits and
    # do not depend on the blocks
    rng = np.random.default_rng(9)
    q, db = rng.integers(0, 256, (5000, 2), dtype=np.uint8), rng.integers(0, 256, (2000, 2), dtype=np.uint8)
    ql, dbl = rng.integers(0, 5, 5000), rng.integers(0, 5, 2000)
    maps = hagcn.evaluate(q, db, ql, dbl, map_at=[100, "all"])
    for name, a in dict(q=q, db=db, ql=ql, dbl=dbl).items():
        np.save(tmp_path / f"{name}.npy", a)
    out = cli("eval", "--query-codes", tmp_path / "q.npy", "--db-codes", tmp_path / "db.npy", "--query-labels",
              tmp_path / "ql.npy", "--db-labels", tmp_path / "dbl.npy", "--map-at", "100,all").stdout
    assert out.splitlines() == [f"mAP@100\t{maps[100]:.6f}", f"mAP@all\t{maps['all']:.6f}"]
    first = hagcn.evaluate(q[:2500], db, ql[:2500], dbl, map_at=["all"])["all"]
    second = hagcn.evaluate(q[2500:], db, ql[2500:], dbl, map_at=["all"])["all"]
    assert abs((first + second) / 2 - maps["all"]) < 1e-12
