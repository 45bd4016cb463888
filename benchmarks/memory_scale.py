"""How the per-user memory scales: bulk insert rate, one-user search latency and RSS at U users x M notes.

    python benchmarks/memory_scale.py --users 100000 --notes-per-user 10

Notes are synthetic task situations ("<context>, could you bring me <thing>?") embedded with the hashing
embedder by default (MiniLM would take ~30 min for 1M texts here). The store is filled with `add_many`,
closed (writing the FAISS file), reopened, and then queried for random users with fresh query texts.
The last stdout line is one JSON object; `search_p50_ms` includes embedding the query text,
`search_vector_p50_ms` does not; `rss_mb` is measured with the reopened store and its index in RAM.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from memory.embedders import EMBEDDERS, make_embedder
from memory.notes import NoteDraft
from memory.store import MemoryStore

log = logging.getLogger("memory_scale")

CONTEXTS = [
    "I can barely keep my eyes open",
    "it is scorching hot today",
    "we are celebrating tonight",
    "I have a sore throat",
    "my friends are coming over",
    "I just finished a long run",
    "I am working late on a deadline",
    "it is freezing in here",
    "I feel a cold coming on",
    "the kids are hungry",
    "I want to relax after dinner",
    "I have a headache",
    "we are watching a movie",
    "I am on a diet this week",
    "it is my birthday",
    "I am studying for an exam",
    "I skipped breakfast",
    "I need to calm down",
]
REQUESTS = [
    "could you bring me something to drink",
    "please get me a snack",
    "can you hand me something warm",
    "put the cup away",
    "please tidy the glass",
    "bring me something sweet",
    "fetch me a drink",
]
OBJECTS = [
    "herbal tea",
    "black coffee",
    "energy drink",
    "chilled water with ice",
    "orange juice",
    "sparkling wine",
    "dark chocolate",
    "apple",
    "granola bar",
    "warm milk",
    "lemonade",
    "green tea",
    "cookies",
    "soda",
]
PLACES = ["top shelf", "bottom shelf", "kitchen cabinet", "dish rack", "drawer", "fridge"]


def situations(rng: np.random.Generator, n: int, salt: int) -> list[str]:
    """Varied task texts; `salt` makes each one distinct so the embedder's cache never helps."""
    ctx = rng.integers(len(CONTEXTS), size=n)
    req = rng.integers(len(REQUESTS), size=n)
    return [f"{CONTEXTS[c]}, {REQUESTS[r]}? (note {salt + i})" for i, (c, r) in enumerate(zip(ctx, req, strict=True))]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fill(store: MemoryStore, users: int, per_user: int, batch: int, rng: np.random.Generator) -> tuple[float, float]:
    """Insert users x per_user notes; returns (seconds embedding, seconds storing)."""
    total = users * per_user
    embed_s = store_s = 0.0
    for start in range(0, total, batch):
        count = min(batch, total - start)
        texts = situations(rng, count, start)
        kinds = rng.random(count) < 0.63
        values = rng.integers(len(OBJECTS), size=count)
        drafts = [
            NoteDraft(
                user_id=f"user{(start + i) // per_user:07d}",
                situation=text,
                kind="object" if is_object else "place",
                value=OBJECTS[v] if is_object else PLACES[v % len(PLACES)],
                text=f"When the user says '{text}', they want {OBJECTS[v] if is_object else PLACES[v % len(PLACES)]}.",
                source="clarification",
            )
            for i, (text, is_object, v) in enumerate(zip(texts, kinds, values, strict=True))
        ]
        t0 = time.perf_counter()
        vectors = store.embedder.embed(texts)
        t1 = time.perf_counter()
        store.add_many(drafts, vectors)
        t2 = time.perf_counter()
        embed_s, store_s = embed_s + t1 - t0, store_s + t2 - t1
        log.info("inserted %d / %d notes", start + count, total)
    return embed_s, store_s


def percentile_ms(samples: list[float], q: float) -> float:
    return round(float(np.percentile(np.array(samples) * 1000, q)), 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--notes-per-user", type=int, default=10)
    parser.add_argument("--embedder", choices=sorted(EMBEDDERS), default="hashing")
    parser.add_argument("--queries", type=int, default=2000, help="timed one-user searches")
    parser.add_argument("--k", type=int, default=10, help="notes retrieved per search")
    parser.add_argument("--batch", type=int, default=50_000, help="notes per add_many transaction")
    parser.add_argument("--dir", help="where to put the database (default: a temporary folder, deleted after)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)

    rng = np.random.default_rng(args.seed)
    workdir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="memory_scale."))
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "memory.db"
    for stale in workdir.glob("memory.db*"):
        stale.unlink()
    embedder = make_embedder(args.embedder)
    total = args.users * args.notes_per_user
    try:
        t0 = time.perf_counter()
        store = MemoryStore(db, embedder)
        embed_s, store_s = fill(store, args.users, args.notes_per_user, args.batch, rng)
        t1 = time.perf_counter()
        store.close()
        close_s = time.perf_counter() - t1
        insert_s = t1 - t0

        t2 = time.perf_counter()
        store = MemoryStore(db, embedder)
        first_user = "user0000000"
        store.search(first_user, "warm up the index")
        open_s = time.perf_counter() - t2

        queries = situations(rng, args.queries, total)
        users = [f"user{u:07d}" for u in rng.integers(args.users, size=args.queries)]
        embed_times, search_times, vector_times = [], [], []
        foreign = empty = 0
        for user, query in zip(users, queries, strict=True):
            s0 = time.perf_counter()
            hits = store.search(user, query, k=args.k)
            s1 = time.perf_counter()
            vector = embedder.embed([query + " again"])[0]
            s2 = time.perf_counter()
            store.search_vector(user, vector, k=args.k)
            s3 = time.perf_counter()
            search_times.append(s1 - s0)
            embed_times.append(s2 - s1)
            vector_times.append(s3 - s2)
            foreign += sum(note.user_id != user for note, _ in hits)
            empty += not hits
        stats = store.stats()
        open_rss = rss_mb()
        store.close()
    finally:
        if not args.dir:
            shutil.rmtree(workdir, ignore_errors=True)

    result = {
        "users": args.users,
        "notes_per_user": args.notes_per_user,
        "notes": total,
        "vectors": f"{embedder.name} embedder, dim {embedder.dim}",
        "insert_notes_per_s": round(total / insert_s, 1),
        "insert_s": round(insert_s, 2),
        "embed_notes_per_s": round(total / embed_s, 1),
        "store_notes_per_s": round(total / store_s, 1),
        "close_flush_s": round(close_s, 2),
        "reopen_first_search_s": round(open_s, 2),
        "queries": args.queries,
        "k": args.k,
        "search_includes_query_embedding": True,
        "search_p50_ms": percentile_ms(search_times, 50),
        "search_p99_ms": percentile_ms(search_times, 99),
        "search_vector_p50_ms": percentile_ms(vector_times, 50),
        "search_vector_p99_ms": percentile_ms(vector_times, 99),
        "query_embed_p50_ms": percentile_ms(embed_times, 50),
        "foreign_notes_returned": foreign,
        "empty_results": empty,
        "index_vectors": stats["index_vectors"],
        "db_mb": round(stats["db_bytes"] / 2**20, 1),
        "index_file_mb": round(stats["index_file_bytes"] / 2**20, 1),
        "rss_mb": round(open_rss, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
