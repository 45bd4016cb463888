"""Episodes per second of the protocol with 1 and 2 local workers and with Ray on this machine.

Each configuration runs the same personas with physics from a cold start (model load and scene load
included, as a user experiences it) and must produce the same episode records.
Usage: python benchmarks/throughput.py [--personas alex,bo,cara,dev] [--sim pybullet] [--learning-iter 1]
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

from pahf_robot.run.config import RunConfig
from pahf_robot.run.records import EPISODES_FILE, EpisodeRecord, read_records
from pahf_robot.run.runner import run


def comparable(records: list[EpisodeRecord]) -> list[str]:
    return sorted(r.to_json() for r in records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--personas", default="alex,bo,cara,dev", help="comma-separated personas")
    parser.add_argument("--modes", default="pahf", help="comma-separated modes")
    parser.add_argument("--sim", default="pybullet", choices=["pybullet", "none"], help="physics or decisions only")
    parser.add_argument("--learning-iter", type=int, default=1, help="passes over the learning phases")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray measurement")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    setups = {"workers_1": dict(workers=1), "workers_2": dict(workers=2)}
    if not args.no_ray:
        setups["ray_local_2"] = dict(workers=2, executor="ray")
    figures: dict = {"personas": args.personas.split(","), "modes": args.modes.split(","), "sim": args.sim}
    baseline = None
    with tempfile.TemporaryDirectory() as tmp:
        for name, options in setups.items():
            config = RunConfig(
                modes=args.modes.split(","),
                personas=args.personas.split(","),
                sim=args.sim,
                learning_iter=args.learning_iter,
                **options,
            )
            results = run(config, Path(tmp) / name, progress=False)
            records = comparable(read_records(Path(tmp) / name / EPISODES_FILE))
            baseline = baseline or records
            figures[name] = {
                "episodes": results["episodes"],
                "wall_seconds": results["wall_seconds"],
                "episodes_per_second": round(results["episodes"] / results["wall_seconds"], 2),
                "identical_records": records == baseline,
            }
    single = figures["workers_1"]["episodes_per_second"]
    figures["scaling_efficiency_2_workers"] = round(figures["workers_2"]["episodes_per_second"] / (2 * single), 3)
    if "ray_local_2" in figures:
        figures["scaling_efficiency_ray_2"] = round(figures["ray_local_2"]["episodes_per_second"] / (2 * single), 3)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
