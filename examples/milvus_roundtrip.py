"""Milvus round trip: `hagcn export --format milvus` into a BINARY_VECTOR collection
(pymilvus + milvus-lite), searched with the HAMMING metric against `hagcn search`.

    python examples/milvus_roundtrip.py --hagcn target/release/hagcn --work /tmp/interop
(`cargo xtask interop` runs it in a venv with pymilvus and milvus-lite.)

The export folder is what Milvus bulk insert takes (numpy format: one `<field>.npy` per
field, uint8 `N × dim/8` for the BINARY_VECTOR field). On a Milvus server, upload the folder's
two .npy files to the server's bucket and call `utility.do_bulk_insert(collection, files=[...])`.
milvus-lite has no bulk insert (it has no object storage to import from), so this script first
tries it and then loads the very same exported arrays with `insert`, row for row.

Milvus does not promise an order among equally distant results, so the check is: identical
distances rank by rank; for every distance below the K-th, the same set of database ids as
`hagcn search`; at the K-th distance (where the cut falls among ties), ids that really are at
that distance.
"""

import json
import shutil

import numpy as np
from pymilvus import DataType, MilvusClient

from interop_common import check_hits, command_line, hagcn_search, make_codes, run

hagcn, work, _ = command_line(__doc__, "milvus")

db_npy, query_npy = make_codes(hagcn, work)
export = work / "export"
run(hagcn, "export", "--format", "milvus", "--codes", db_npy, "--out", export, "--force")
schema_doc = json.loads((export / "collection.json").read_text())
id_field, vec_field = (f["name"] for f in schema_doc["fields"])
dim = schema_doc["fields"][1]["dim"]
ids, vectors = np.load(export / f"{id_field}.npy"), np.load(export / f"{vec_field}.npy")
assert vectors.dtype == np.uint8 and vectors.shape == (schema_doc["rows"], dim // 8)

db_file = work / "milvus_lite.db"
for stale in (db_file, work / f".{db_file.name}.lock"):
    if stale.is_dir():
        shutil.rmtree(stale)
    else:
        stale.unlink(missing_ok=True)
client = MilvusClient(str(db_file))
schema = MilvusClient.create_schema(auto_id=False)
schema.add_field(id_field, DataType.INT64, is_primary=True)
schema.add_field(vec_field, DataType.BINARY_VECTOR, dim=dim)
index = client.prepare_index_params()
index.add_index(field_name=vec_field, index_type="BIN_FLAT", metric_type="HAMMING")
client.create_collection("hagcn_codes", schema=schema, index_params=index)

try:
    from pymilvus import utility
    utility.do_bulk_insert("hagcn_codes", files=[str(export / f"{id_field}.npy"), str(export / f"{vec_field}.npy")],
                           using=client._using)
    raise SystemExit("bulk insert unexpectedly worked on milvus-lite: count the rows before inserting them again")
except SystemExit:
    raise
except Exception as e:  # milvus-lite: no bulk insert
    answer = e.code() if callable(getattr(e, "code", None)) else type(e).__name__
    print(f"milvus-lite has no bulk insert (do_bulk_insert: {answer}); inserting the exported arrays with insert()")
for start in range(0, len(ids), 1000):
    rows = [{id_field: int(i), vec_field: v.tobytes()} for i, v in zip(ids[start:start + 1000], vectors[start:start + 1000])]
    client.insert("hagcn_codes", rows)
client.load_collection("hagcn_codes")
assert client.get_collection_stats("hagcn_codes")["row_count"] == len(ids)

db, queries = np.load(db_npy), np.load(query_npy)
for k in (1, 10, 100):
    want_idx, want_dist = hagcn_search(hagcn, work, query_npy, db_npy, k)
    hits = client.search("hagcn_codes", data=[q.tobytes() for q in queries], limit=k,
                         search_params={"metric_type": "HAMMING"}, anns_field=vec_field)
    got = [([h["id"] for h in row], [h["distance"] for h in row]) for row in hits]
    check_hits("milvus-lite", k, queries, db, want_idx, want_dist, got)
client.close()
