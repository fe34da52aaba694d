"""The library with 100,000 generations: full-text search over prompts, and submitting a job.

Run: make bench   (or: .venv/bin/python -m pytest -q -s tests/bench/test_bench_library.py)
Prints medians and ratios against references measured in the same run:
- search: FTS5 (`Library.search`) against the scan a version 1 library did (LIKE over every
  prompt); target median <= 20 ms;
- submit: `JobQueue.submit` (a committed WAL transaction) against the same INSERT into a plain
  table on the same connection settings; target median <= 5 ms.
"""

from __future__ import annotations

import random
import statistics
import time

from engine.jobs.queue import JobQueue
from engine.library.catalog import GenerationRecord, Library
from tests.jobs.conftest import tool_params

NUM_GENERATIONS = 100_000
SUBJECTS = ["fox", "harbour", "city", "forest", "astronaut", "dancer", "storm", "lighthouse", "train", "garden",
            "robot", "whale", "desert", "market", "violin", "glacier", "temple", "kitten", "bridge", "volcano"]
ACTIONS = ["runs", "sleeps", "glows", "drifts", "spins", "waits", "burns", "melts", "sings", "rises"]
STYLES = ["at dawn", "in the rain", "on film", "in slow motion", "under neon light", "in watercolour",
          "at night", "in fog", "from above", "in winter"]


def _prompt(rng: random.Random) -> str:
    return (f"a {rng.choice(SUBJECTS)} {rng.choice(ACTIONS)} {rng.choice(STYLES)}, "
            f"{rng.choice(SUBJECTS)} in the background, shot {rng.randrange(10000)}")


def _median_ms(function, args_list) -> float:
    times = []
    for args in args_list:
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def test_bench_library_search_and_submit(tmp_path):
    rng = random.Random(1)
    path = str(tmp_path / "library.sqlite")
    library = Library(path)
    start = time.perf_counter()
    for chunk in range(0, NUM_GENERATIONS, 10_000):
        library.add_generations([GenerationRecord(
            tool="generate", output_path=f"/videos/gen-{chunk + i}.mp4",
            prompts=[{"start": 0, "stop": 49, "text": _prompt(rng), "negative": "blurry"}], seeds=[chunk + i],
            settings={"steps": 30, "guidance": 3.0}, model_id="ltx-video-2b", weights_hash="ab" * 16,
            plan_summary={"width": 704, "height": 480, "num_frames": 49}) for i in range(10_000)])
    fill = time.perf_counter() - start

    queries = [(f"{rng.choice(SUBJECTS)} {rng.choice(STYLES).split()[-1]}",) for _ in range(60)]
    queries += [(f"shot {rng.randrange(10000)}",) for _ in range(20)]  # rare: few matches
    queries += [(rng.choice(SUBJECTS)[:3],) for _ in range(20)]  # typing: a prefix
    assert all(library.search(q) for q, in queries[:5])
    search = _median_ms(library.search, queries)
    by_group = {name: _median_ms(library.search, group) for name, group in
                (("common words", queries[:60]), ("rare words", queries[60:80]), ("a prefix", queries[80:]))}
    # The reference finds every match, as ranking needs (LIMIT alone would stop a scan early).
    scan = _median_ms(lambda q: library.conn.execute(
        "SELECT id FROM generations WHERE " + " AND ".join("prompt_text LIKE ?" for _ in q.split()),
        [f"%{w}%" for w in q.split()]).fetchall(), queries)

    queue = JobQueue(conn=library.conn)
    params = tool_params(["a fox runs at dawn", "--steps", "30", "-o", str(tmp_path / "out.mp4")])
    for _ in range(1000):
        queue.submit("generate", params)  # a queue with history
    submit = _median_ms(lambda: queue.submit("generate", params), [()] * 300)
    library.conn.execute("CREATE TABLE plain(kind TEXT, params TEXT, state TEXT, created REAL)")
    import json

    insert = _median_ms(lambda: library.conn.execute(
        "INSERT INTO plain VALUES ('generate', ?, 'queued', ?)", (json.dumps(params), time.time())), [()] * 300)
    library.conn.execute("PRAGMA synchronous = FULL")  # what durability against power cuts would cost
    submit_full = _median_ms(lambda: queue.submit("generate", params), [()] * 100)

    print(f"\nlibrary with {NUM_GENERATIONS:,} generations (filled in {fill:.1f} s)")
    print(f"  search  median {search:6.2f} ms   LIKE scan {scan:7.2f} ms   ratio {search / scan:.3f}   "
          f"(target <= 20 ms)")
    for name, median in by_group.items():
        print(f"    {name:13s} {median:6.2f} ms")
    print(f"  submit  median {submit:6.2f} ms   plain INSERT {insert:5.2f} ms   ratio {submit / insert:.2f}   "
          f"(target <= 5 ms)")
    print(f"  submit with synchronous=FULL (fsync per commit) {submit_full:.2f} ms")
