"""Milvus server round trip: `hagcn export --format milvus` loaded into a real Milvus
standalone server **by bulk insert**, searched with the HAMMING metric against `hagcn search`.

    python examples/milvus_server_roundtrip.py --hagcn target/release/hagcn --work target/interop \\
        --server-dir target/milvus-server
(`cargo xtask interop` runs it in a venv with `milvus==2.3.5` and `pymilvus==2.3.7`.)

The PyPI package `milvus` 2.3.5 bundles a Milvus v2.3.5 standalone server (embedded etcd,
local storage); this script starts it with its data in `--server-dir` (cleared first) and
stops it at the end, whatever happens. The server reads bulk-insert files through its storage:
with local storage, as here, from its own file system, so the export folder's absolute paths
are given; a server on MinIO/S3 needs the files uploaded to its bucket first and their object
keys given instead.

If the server refuses the bulk insert, the script stops with the server's exact answer
(the task's state and failed_reason). Milvus 2.3.5 refused the `.npy` headers hagcn wrote
before they followed NumPy's layout byte for byte: "illegal shape [3000] of numpy file for
binary vector field 'vector', shape should be 2".
"""

import argparse
import json
import shutil
import time

import numpy as np
from milvus import default_server
from pymilvus import Collection, CollectionSchema, DataType, FieldSchema, connections, utility

from interop_common import check_hits, command_line, hagcn_search, make_codes, run

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--server-dir", required=True, help="the server's data folder (cleared first)")
hagcn, work, args = command_line(__doc__, "milvus-server", parser)

db_npy, query_npy = make_codes(hagcn, work)
export = work / "export"
run(hagcn, "export", "--format", "milvus", "--codes", db_npy, "--out", export, "--force")
schema_doc = json.loads((export / "collection.json").read_text())
id_doc, vec_doc = schema_doc["fields"]
files = [str((export / f["file"]).resolve()) for f in (id_doc, vec_doc)]

server_dir = args.server_dir
shutil.rmtree(server_dir, ignore_errors=True)
default_server.set_base_dir(server_dir)
started = time.perf_counter()
default_server.start()
try:
    print(f"Milvus server (PyPI package milvus 2.3.5) up on port {default_server.listen_port} "
          f"in {time.perf_counter() - started:.0f} s")
    connections.connect(host="127.0.0.1", port=default_server.listen_port)
    print(f"server version {utility.get_server_version()}")
    schema = CollectionSchema([
        FieldSchema(id_doc["name"], DataType.INT64, is_primary=True, auto_id=False),
        FieldSchema(vec_doc["name"], DataType.BINARY_VECTOR, dim=vec_doc["dim"]),
    ])
    collection = Collection("hagcn_codes", schema)

    task = utility.do_bulk_insert("hagcn_codes", files=files)
    deadline = time.monotonic() + 300
    while True:
        state = utility.get_bulk_insert_state(task)
        if state.state_name in ("Completed", "Failed", "FailedAndCleaned") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if state.state_name != "Completed":
        raise SystemExit(f"Milvus refused the bulk insert of {files}: state {state.state_name}, "
                         f"failed_reason {state.failed_reason!r}")
    print(f"bulk insert of {[f['file'] for f in (id_doc, vec_doc)]}: {state.state_name}, {state.row_count} rows")
    assert state.row_count == schema_doc["rows"], state

    collection.create_index(vec_doc["name"], {"index_type": "BIN_FLAT", "metric_type": "HAMMING", "params": {}})
    collection.load()
    assert collection.num_entities == schema_doc["rows"], collection.num_entities

    db, queries = np.load(db_npy), np.load(query_npy)
    ids, vectors = np.load(export / id_doc["file"]), np.load(export / vec_doc["file"])
    stored = collection.query(f"{id_doc['name']} in [0, 1, {len(ids) - 1}]", output_fields=[vec_doc["name"]])
    for row in stored:  # the server holds the exported bytes
        assert bytes(row[vec_doc["name"]][0]) == vectors[row[id_doc["name"]]].tobytes(), row
    for k in (1, 10, 100):
        want_idx, want_dist = hagcn_search(hagcn, work, query_npy, db_npy, k)
        hits = collection.search([q.tobytes() for q in queries], vec_doc["name"], {"metric_type": "HAMMING"}, limit=k)
        got = [(list(h.ids), list(h.distances)) for h in hits]
        check_hits("Milvus 2.3.5 server, bulk insert", k, queries, db, want_idx, want_dist, got)
    connections.disconnect("default")
finally:
    default_server.stop()
    print("Milvus server stopped")
