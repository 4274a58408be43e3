"""faiss round trip: `hagcn export --format faiss` loads with faiss.read_index_binary and
searches to exactly the neighbours and distances of `hagcn search`.

    python examples/faiss_roundtrip.py --hagcn target/release/hagcn --work /tmp/interop
(`cargo xtask interop` runs it in a venv with faiss-cpu.)
"""


import faiss
import numpy as np

from interop_common import command_line, hagcn_search, make_codes, run

hagcn, work, _ = command_line(__doc__, "faiss")

db_npy, query_npy = make_codes(hagcn, work)
index_path = work / "db.index"
run(hagcn, "export", "--format", "faiss", "--codes", db_npy, "--out", index_path, "--force")

index = faiss.read_index_binary(str(index_path))
db, queries = np.load(db_npy), np.load(query_npy)
assert isinstance(index, faiss.IndexBinaryFlat), type(index)
assert (index.ntotal, index.d, index.code_size) == (len(db), 8 * db.shape[1], db.shape[1])
assert np.array_equal(faiss.vector_to_array(index.xb).reshape(db.shape), db), "stored codes differ"

# Exported files read back into hagcn too: the faiss file is a valid --database.
for k in (1, 10, 100, len(db)):
    want_idx, want_dist = hagcn_search(hagcn, work, query_npy, db_npy, k)
    dist, idx = index.search(queries, k)
    if not (np.array_equal(idx, want_idx) and np.array_equal(dist, want_dist)):
        bad = np.argwhere((idx != want_idx) | (dist != want_dist))[0]
        raise SystemExit(f"k={k}: first difference at query {bad[0]}, rank {bad[1]}: faiss "
                         f"{idx[bad[0], bad[1]]}:{dist[bad[0], bad[1]]}, hagcn "
                         f"{want_idx[bad[0], bad[1]]}:{want_dist[bad[0], bad[1]]}")
    from_index = hagcn_search(hagcn, work, query_npy, index_path, k)
    assert np.array_equal(from_index[0], want_idx) and np.array_equal(from_index[1], want_dist)
    ties = int((np.diff(want_dist, axis=1) == 0).sum())
    print(f"faiss {faiss.__version__}: k={k}: neighbours and distances identical to hagcn search "
          f"({len(queries)} queries, {len(db)} codes of {8 * db.shape[1]} bits, {ties} tied neighbours)")
