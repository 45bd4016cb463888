"""`pahf-robot`: the command line. User mistakes end in one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime
from pathlib import Path

import yaml
from pydantic import ValidationError

from pahf_robot.agent.planner import MODES
from pahf_robot.run.config import (
    DriverName,
    EmbedderName,
    ExecutorName,
    HumanName,
    Perception,
    ReasonerName,
    RunConfig,
    Sim,
    choices,
    flag_of,
    one_line,
)

log = logging.getLogger("pahf_robot")


def _comma_list(kind):
    def parse(text: str) -> list:
        items = [t.strip() for t in text.split(",") if t.strip()]
        try:
            return [kind(t) for t in items]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {kind.__name__}: {text!r}") from exc

    return parse


def _add_run_parser(subparsers) -> None:
    run = subparsers.add_parser(
        "run",
        help="run the four-phase PAHF protocol (the main job)",
        description="Run every mode on the benchmark, headless with physics by default; print a mode x phase "
        "table and write results.json, episodes.jsonl and plots into --out.",
    )
    run.add_argument("--modes", type=_comma_list(str), help=f"comma-separated modes (default: {','.join(MODES)})")
    run.add_argument("--personas", type=_comma_list(str), help="comma-separated persona names (default: all)")
    run.add_argument("--phases", type=_comma_list(int), help="comma-separated phases out of 1,2,3,4 (default: all)")
    run.add_argument("--learning-iter", type=int, help="passes over the phase-1 and phase-3 scenarios (default: 3)")
    run.add_argument("--scenarios", help="scenario folder: bundled layout or the four PAHF files (default: bundled)")
    run.add_argument("--sim", choices=choices(Sim), help="physics, or decisions only (default: pybullet)")
    run.add_argument("--seed", type=int, help="seed for scenes and the simulated human (default: 0)")
    run.add_argument(
        "--noise", type=float, help="fraction of the human's answers/corrections that are wrong or missing"
    )
    run.add_argument(
        "--embedder",
        choices=choices(EmbedderName),
        help="sentence embedder (default: mpnet, offline; minilm is 4x faster and less accurate)",
    )
    run.add_argument(
        "--reasoner", choices=choices(ReasonerName), help="decision maker behind the planner (default: offline)"
    )
    run.add_argument("--model", help="LLM model name for --reasoner llm / --human llm")
    run.add_argument("--base-url", help="OpenAI-compatible API base URL (default: $OPENAI_BASE_URL)")
    run.add_argument(
        "--human",
        choices=choices(HumanName),
        help="simulated person: talks naturally (names, parts, descriptions, bare 'no'), names options exactly, "
        "or an LLM's wording (default: natural)",
    )
    run.add_argument(
        "--memory-db",
        metavar="PATH",
        help="memory database; each mode writes PATH's stem.MODE.db beside it (read them back with "
        "`memory show --db PATH --mode MODE`); an existing one is refused unless --reuse-memory or --resume",
    )
    run.add_argument(
        "--reuse-memory",
        action="store_true",
        default=None,
        help="start from what an existing --memory-db holds (recorded in config.json)",
    )
    run.add_argument(
        "--workers", type=int, help="worker processes, personas sharded over them (default: one per core with physics)"
    )
    run.add_argument("--executor", choices=choices(ExecutorName), help="where workers run: local processes or Ray")
    run.add_argument("--ray-address", help="Ray cluster address for --executor ray (default: start Ray locally)")
    run.add_argument("--gui", action="store_true", default=None, help="watch in the PyBullet GUI (needs a display)")
    run.add_argument("--speed", type=float, help="GUI playback speed factor relative to real time (default: 1)")
    run.add_argument("--record", metavar="DIR", help="write one video per episode into DIR")
    run.add_argument(
        "--driver", choices=choices(DriverName), help="robot driver: in-process or over TCP (default: local)"
    )
    run.add_argument("--driver-host", help="host of `pahf-robot serve-driver` for --driver remote")
    run.add_argument("--driver-port", type=int, help="port of `pahf-robot serve-driver` for --driver remote")
    run.add_argument(
        "--perception",
        choices=choices(Perception),
        help="how the robot finds objects: its scene camera, or a pose tracker with sizes from the camera "
        "(default: camera)",
    )
    run.add_argument(
        "--randomize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="vary positions, yaw, size, mass and friction of the objects (default: off)",
    )
    run.add_argument(
        "--reuse-rollouts",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="simulate each distinct unwatched rollout (scene, seed, target) once per run and reuse its outcome "
        "in other modes and passes; PyBullet in-process is deterministic, so the results are the same (default: on)",
    )
    run.add_argument("--config", help="YAML file holding any of these options (command-line options win)")
    run.add_argument("--out", help="run directory (default: runs/<timestamp>/)")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last completed episode")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _float_triple(text: str) -> tuple[float, float, float]:
    values = _comma_list(float)(text)
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected x,y,z in metres, got {text!r}")
    return tuple(values)


def _add_serve_driver_parser(subparsers) -> None:
    from envs.driver import DRIVERS
    from envs.safety import SafetyLimits

    limits = SafetyLimits()
    serve = subparsers.add_parser(
        "serve-driver",
        help="serve a robot driver over TCP for `run --driver remote`",
        description="Serve a robot driver to one client at a time. Every motion command is checked against "
        "the safety limits below and refused with no motion when it breaks one; when the client leaves or goes "
        "silent the arm holds where it is and the next client may connect. Runs until Ctrl-C.",
    )
    serve.add_argument(
        "--backend", choices=sorted(DRIVERS), default="pybullet", help="driver to serve (default: pybullet)"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1); any other address needs a token (see --token-file)",
    )
    serve.add_argument(
        "--token-file",
        metavar="PATH",
        help="file holding the shared token clients must prove they know (default: $PAHF_DRIVER_TOKEN_FILE, "
        "else $PAHF_DRIVER_TOKEN); never the token itself on the command line",
    )
    serve.add_argument("--port", type=int, default=8765, help="port to listen on; 0 picks a free one (default: 8765)")
    serve.add_argument(
        "--gui", action="store_true", help="show the served robot in the PyBullet window (needs a display)"
    )
    serve.add_argument(
        "--idle-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="hold the arm and drop a client silent this long (default: 5; clients send heartbeats)",
    )
    serve.add_argument(
        "--workspace-low",
        type=_float_triple,
        default=limits.workspace_low,
        metavar="X,Y,Z",
        help="lowest commanded grasp point, metres in the robot base frame (default: %(default)s)",
    )
    serve.add_argument(
        "--workspace-high",
        type=_float_triple,
        default=limits.workspace_high,
        metavar="X,Y,Z",
        help="highest commanded grasp point, metres in the robot base frame (default: %(default)s)",
    )
    serve.add_argument(
        "--max-step",
        type=float,
        default=limits.max_step,
        metavar="M",
        help="largest distance of a command from the current grasp point (default: %(default)s m)",
    )
    serve.add_argument(
        "--max-yaw-step",
        type=float,
        default=limits.max_yaw_step,
        metavar="RAD",
        help="largest difference of a commanded yaw from the current one (default: %(default)s rad)",
    )
    serve.add_argument(
        "--max-ticks",
        type=int,
        default=limits.max_ticks,
        metavar="N",
        help="most physics ticks one step call may run (default: %(default)s)",
    )


def _cmd_serve_driver(args) -> int:
    import signal

    from envs import wire
    from envs.driver import make_driver
    from envs.driver_server import DriverServer
    from envs.safety import SafetyLimits

    limits = SafetyLimits(
        workspace_low=args.workspace_low,
        workspace_high=args.workspace_high,
        max_step=args.max_step,
        max_yaw_step=args.max_yaw_step,
        max_ticks=args.max_ticks,
    )
    options = {"gui": True} if args.gui else {}
    token = wire.token_from_env(args.token_file)
    try:
        server = DriverServer(
            lambda: make_driver(args.backend, **options), args.host, args.port, limits, args.idle_timeout, token
        )
    except RuntimeError as exc:
        raise ValueError(f"--backend {args.backend}: {exc}") from None
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: server.stop())
    if not args.quiet:
        logging.getLogger("envs.driver_server").setLevel(logging.INFO)
    host, port = server.address
    locked = "; clients must hold the token" if token else ""
    print(f"pahf-robot: serving the {args.backend} driver on {host}:{port}{locked} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.close()
    return 0


def _config_file_options(path: str) -> dict:
    """A launch file's options, each checked by RunConfig; a problem is one line naming the field."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such launch file") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except RecursionError:
        raise ValueError(f"{path}: nested too deeply to be a launch file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ValueError(f"{path}:{where} invalid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of options, got {type(data).__name__}")
    known = {*RunConfig.model_fields, "out"}
    keys = {str(key).replace("-", "_"): key for key in data}
    for name, key in keys.items():
        if name not in known:
            raise ValueError(f"{path}: field '{key}': unknown option (known: {', '.join(sorted(known))})")
    options = {name: data[key] for name, key in keys.items()}
    out = options.pop("out", None)
    if out is not None and not isinstance(out, str):
        raise ValueError(f"{path}: field '{keys['out']}': expected str, got {out!r}")
    try:
        checked = RunConfig(**options)
    except ValidationError as exc:
        raise ValueError(f"{path}: " + one_line(exc, lambda field: f"field '{keys.get(field, field)}'")) from None
    return {**{name: getattr(checked, name) for name in options}, "out": out}


RESUME_KEEPS = ("no_progress", "reuse_memory")
"""Run options that may go with --resume: everything else is the saved run's and cannot change mid-run."""


def _run_config(args) -> tuple[RunConfig, Path, bool]:
    """(config, run directory, resuming?) from the command line, a launch file or a run to resume."""
    from pahf_robot.run.runner import load_run_config

    if args.resume:
        options = (*RunConfig.model_fields, "config", "out")
        given = [flag_of(name) for name in options if name not in RESUME_KEEPS and getattr(args, name, None)]
        if given:
            raise ValueError(
                f"--resume {args.resume}: continues the run with its saved options; drop {', '.join(given)}"
            )
        run_dir = Path(args.resume)
        config = load_run_config(run_dir)
        if args.reuse_memory:  # continue even though memory holds episodes the records do not
            config = config.model_copy(update={"reuse_memory": True})
        return config, run_dir, True
    options = _config_file_options(args.config) if args.config else {}
    out_from_file = options.pop("out", None)
    for name in RunConfig.model_fields:
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    out = args.out or out_from_file or f"runs/{datetime.now():%Y%m%d-%H%M%S}"
    try:
        config = RunConfig(**options)
    except ValidationError as exc:
        raise ValueError(one_line(exc, flag_of)) from None
    return config, Path(out), False


def _cmd_run(args) -> int:
    from pahf_robot.run.runner import format_table, run

    config, run_dir, resuming = _run_config(args)
    results = run(config, run_dir, progress=not (args.no_progress or args.quiet), resume=resuming)
    print(format_table(results))
    print(f"{results['episodes']} episodes in {results['wall_seconds']} s; results in {run_dir}/")
    for failure in results.get("failed", []):
        print(
            f"pahf-robot: error: persona {failure['user']} (mode {failure['mode']}) failed: {failure['error']}",
            file=sys.stderr,
        )
    return 1 if results.get("failed") else 0


def build_parser() -> argparse.ArgumentParser:
    from memory.cli import add_memory_parser
    from pahf_robot.run.replay import add_replay_parser

    parser = argparse.ArgumentParser(
        prog="pahf-robot",
        description="A robot arm that learns each person's preferences (PAHF) and acts with a physical grasp.",
    )
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument("-v", "--verbose", action="count", default=0, help="log progress details (-vv: debug)")
    loud.add_argument("-q", "--quiet", action="store_true", help="only errors: no warnings, no progress bar")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_run_parser(subparsers)
    _add_serve_driver_parser(subparsers)
    add_replay_parser(subparsers)
    add_memory_parser(subparsers)
    return parser


def configure_logging(verbose: int, quiet: bool) -> None:
    """Everything the stack says goes through `logging` to stderr: warnings by default, -v info, -vv debug,
    -q errors only."""
    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    try:
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "serve-driver":
            return _cmd_serve_driver(args)
        if args.command == "replay":
            from pahf_robot.run.replay import run_replay

            return run_replay(args)
        if args.command == "memory":
            from memory.cli import run_memory_command

            return run_memory_command(args)
    except (ValueError, OSError) as exc:
        if args.debug:
            raise
        print(f"pahf-robot: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pahf-robot: interrupted; continue with --resume RUN_DIR", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
