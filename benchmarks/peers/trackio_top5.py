"""trackio's side of benchmarks/catalog_scale.py; run with trackio's own venv's python.

    python trackio_top5.py RUNS REPS   -> prints a JSON list of seconds per query

Writes RUNS runs x 1,000 steps x 10 metrics with trackio's own SQLite storage
(bulk_log, the path its logging thread takes) under a temporary TRACKIO_DIR, then times
the same question as the Loupe benchmark, the way trackio answers it: its SQL interface
(query_project) over the last step of each run, joined with the runs' configs.
"""

import json
import os
import sys
import tempfile
import time

runs, reps = int(sys.argv[1]), int(sys.argv[2])
os.environ["TRACKIO_DIR"] = tempfile.mkdtemp(prefix="trackio-bench-")
from trackio.sqlite_storage import SQLiteStorage  # type: ignore[import-not-found]  # noqa: E402

project = "bench"
for i in range(runs):
    lr = 10 ** (-4 + 3 * ((i * 7919) % 1000) / 1000)
    rows = [{f"m{k}": (k + 1) / (1 + s * lr) for k in range(10)} for s in range(1000)]
    SQLiteStorage.bulk_log(
        project, f"run-{i}", rows, steps=list(range(1000)), config={"lr": lr, "batch_size": 32}, run_id=f"id-{i}"
    )

QUERY = """
SELECT c.run_name, json_extract(c.config, '$.lr') AS lr, json_extract(c.config, '$.batch_size') AS bs,
       json_extract(m.metrics, '$.m0') AS m0
FROM metrics m JOIN configs c ON c.run_id = m.run_id
WHERE m.step = (SELECT max(step) FROM metrics WHERE run_id = m.run_id)
ORDER BY m0 DESC LIMIT 5
"""
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    SQLiteStorage.query_project(project, QUERY)
    times.append(time.perf_counter() - t0)
print(json.dumps(times))
