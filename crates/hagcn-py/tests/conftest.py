"""Fixtures of the hagcn Python package's tests: the `hagcn` binary to compare with, and
clustered data built in code (tests never read datasets/)."""

import os
import pathlib
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def hagcn_bin() -> pathlib.Path:
    """The CLI binary (HAGCN_BIN, set by `cargo xtask test`; else target/debug/hagcn)."""
    path = pathlib.Path(os.environ.get("HAGCN_BIN", ROOT / "target" / "debug" / "hagcn"))
    if not path.exists():
        pytest.fail(f"{path} not found: build it with `cargo build -p hagcn-cli` or set HAGCN_BIN")
    return path


@pytest.fixture(scope="session")
def cli(hagcn_bin):
    """Runs `hagcn ARGS`; returns the completed process (check=False: tests read stderr)."""

    def run(*args, check=True):
        proc = subprocess.run([str(hagcn_bin), *map(str, args)], capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"hagcn {' '.join(map(str, args))} failed:\n{proc.stderr}")
        return proc

    return run


def clusters(n: int, d: int, n_classes: int = 4, seed: int = 0, dtype=np.float32):
    """`n` rows of `d` features around `n_classes` Gaussian centres, and their labels."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, d)) * 3.0
    labels = rng.integers(0, n_classes, n)
    x = centres[labels] + rng.standard_normal((n, d))
    return x.astype(dtype), labels.astype(np.int64)


def write_dataset(folder: pathlib.Path, x: np.ndarray, labels: np.ndarray) -> pathlib.Path:
    """The fast dataset layout `hagcn train --dataset` reads."""
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "features.npy", x)
    np.save(folder / "labels.npy", labels)
    return folder
