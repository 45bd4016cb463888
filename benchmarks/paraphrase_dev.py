"""Development check for word-disjoint paraphrase: learn on A wordings, act on B wordings.

The data (`benchmarks/paraphrase_dev.json`) was written blind by a helper session for choosing an embedding
model: 40 situations with three A and three word-disjoint B sentences, 80 item pairs and 30 place pairs with
distractors. It shares nothing with the bundled or the held-out benchmark, so tuning on it leaks no test
data. Each simulated person gets 8 situations, a wanted item and a place per situation; phase 1 learns from
exact answers on A sentences and A names, phase 2 acts on B sentences among B names with no questions.

    python benchmarks/paraphrase_dev.py [--people 40] [--seed 0] [--embedder minilm]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

from memory.embedders import EMBEDDERS
from memory.store import MemoryStore
from pahf_robot.agent.offline import OfflineReasoner, OfflineSettings
from pahf_robot.agent.planner import MODES, Planner
from pahf_robot.agent.reasoning import PreferenceSignal
from pahf_robot.bench.scenarios import TaskView
from pahf_robot.core.types import Outcome

DATA = Path(__file__).with_name("paraphrase_dev.json")


def people(data: dict, count: int, rng: random.Random) -> list[dict]:
    """Each person: 8 situations with a wanted item (A and B names) and a place (A and B names)."""
    out = []
    for n in range(count):
        situations = rng.sample(data["situations"], 8)
        items = rng.sample(data["items"], 8)
        places = rng.sample(data["places"], 8)
        out.append({"name": f"p{n}", "rows": list(zip(situations, items, places, strict=True))})
    return out


def scenes(person: dict, rng: random.Random, wording: str, all_places: list[dict]) -> list[tuple[TaskView, str]]:
    """Bring tasks among this person's other favourites, place tasks among a place and its distractors."""
    tasks = []
    rows = person["rows"]
    for i, (situation, item, place) in enumerate(rows):
        for sentence in situation[wording]:
            others = [r[1][wording] for j, r in enumerate(rows) if j != i]
            options = [item[wording], *rng.sample(others, 3)]
            rng.shuffle(options)
            tasks.append((TaskView(person["name"], sentence, "", tuple(options), ()), item[wording]))
        obj = item[wording]
        if wording == "A":  # learning: the place among two other places
            others = [p["A"] for p in all_places if p is not place]
        else:  # test: its paraphrase among its distractors, opposites included
            others = list(place["distractors"])
        place_options = [place[wording], *rng.sample(others, min(2, len(others)))]
        rng.shuffle(place_options)
        view = TaskView(
            person["name"], f"{situation[wording][0]} Put the {obj} away.", "", (obj,), tuple(place_options)
        )
        tasks.append((view, place[wording]))
    return tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embedder", default="mpnet", choices=sorted(EMBEDDERS))
    args = parser.parse_args()
    data = json.loads(DATA.read_text())
    rng = random.Random(args.seed)
    embedder = EMBEDDERS[args.embedder](cache_size=1 << 16)
    reasoner = OfflineReasoner(embedder, OfflineSettings())
    right = {"object": [0, 0], "place": [0, 0]}
    with tempfile.TemporaryDirectory() as tmp, MemoryStore(Path(tmp) / "m.db", embedder) as store:
        planner = Planner(reasoner, store, MODES["pahf"])
        for person in people(data, args.people, rng):
            for view, wanted in scenes(person, rng, "A", data["places"]):
                signal = PreferenceSignal("place" if view.places else "object", wanted, explicit=True)
                planner._remember(view, signal, source="clarification")
            for view, wanted in scenes(person, rng, "B", data["places"]):
                turn = planner.run(view, None, lambda target: Outcome(True), None)
                chosen = turn.target.place if view.places else turn.target.object
                kind = "place" if view.places else "object"
                right[kind][0] += chosen == wanted
                right[kind][1] += 1
    print(json.dumps({k: round(r / n, 3) for k, (r, n) in right.items()}))


if __name__ == "__main__":
    main()
