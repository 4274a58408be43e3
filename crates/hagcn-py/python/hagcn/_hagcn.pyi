"""Type stubs of the extension module hagcn._hagcn (re-exported by hagcn)."""

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

_Floats = Union[npt.NDArray[np.float32], npt.NDArray[np.float64]]
_Codes = npt.NDArray[np.uint8]
_Labels = npt.NDArray[np.integer[Any]]
_Path = Union[str, "os.PathLike[str]"]

class Hasher:
    """A learned hash function for embeddings, with `hagcn train`'s settings and defaults.

    `fit` trains it as `hagcn train` does, `encode` gives `hagcn encode`'s packed codes,
    `save`/`load` use the CLI's checkpoint files. Bad input raises ValueError, files
    OSError; Ctrl-C during fit or encode raises KeyboardInterrupt.
    """

    def __init__(
        self,
        bits: int = 32,
        *,
        objective: str = "hagcn",
        filter: str = "gcn",
        k: int = 18,
        seed: int = 42,
        device: str = "cpu",
        epochs: int = 20,
        batch_size: int = 128,
        hidden: int = 768,
        lr: float = 1e-4,
        gamma: float = 1e-4,
        knn: int = 5,
        regularization: float = 0.1,
        anchors: int = 0,
        nearest_anchors: int = 3,
        hops: int = 2,
        code_hops: int = 0,
        readout: str = "sign",
        ablate: Optional[Sequence[str]] = None,
    ) -> None:
        """Settings as `hagcn train`'s flags: `objective` "hagcn" or "knn"; `filter` "gcn",
        "fourier", "spline", "cheby" or "lanczos"; `readout` "sign" or "itq"; `ablate` parts
        of the knn objective to switch off. `device` must be "cpu"."""
    def fit(self, X: _Floats) -> "Hasher":
        """Trains a fresh model on the rows of X ((n, d) float32 or float64), exactly as
        `hagcn train` on the same rows: the same seed gives the same checkpoint. Returns self.
        The GIL is released; Ctrl-C raises KeyboardInterrupt and leaves the hasher as it was."""
    def encode(self, X: _Floats) -> _Codes:
        """Packed codes of the rows of X: uint8 (n, ceil(bits/8)), LSB-first (faiss's binary
        layout), bit for bit `hagcn encode`'s. The GIL is released; Ctrl-C interrupts."""
    def save(self, path: _Path, *, overwrite: bool = False) -> None:
        """Writes the CLI's checkpoint (.npz) atomically; FileExistsError unless overwrite."""
    @staticmethod
    def load(path: _Path) -> "Hasher":
        """A hasher from a checkpoint of Hasher.save, `hagcn train` or `hagcn experiment`."""
    @property
    def bits(self) -> int:
        """Code length in bits."""
    @property
    def is_fitted(self) -> bool:
        """Whether the hasher has a model (fit or load)."""
    @property
    def n_features(self) -> Optional[int]:
        """Features per row the model takes; None before fit."""
    @property
    def steps(self) -> int:
        """Optimiser steps the model has taken."""
    @property
    def params(self) -> Dict[str, Any]:
        """Every setting, resolved."""

def search(query_codes: _Codes, db_codes: _Codes, k: int = 10) -> Tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """(D, I): the k nearest database codes of every query by Hamming distance, as
    faiss.IndexBinaryFlat.search gives them ((n_query, min(k, n_db)), nearest first, ties by
    database index): `hagcn search`'s results. The GIL is released; Ctrl-C interrupts."""

def evaluate(
    query_codes: _Codes,
    db_codes: _Codes,
    query_labels: _Labels,
    db_labels: _Labels,
    map_at: Optional[List[Union[int, str]]] = None,
) -> Dict[Union[int, str], float]:
    """mAP@K for each K of map_at (default [200, "all"]), relevance = the same label, as
    `hagcn eval` prints them: a dict from each entry of map_at to its mAP. The GIL is
    released; Ctrl-C interrupts."""

def openblas_corename() -> str:
    """The compute kernel OpenBLAS chose when it was loaded (e.g. SkylakeX, Haswell)."""
