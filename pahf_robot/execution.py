"""Carrying out a planner's target: with physics (env + scripted grasp) or as a decision-only study."""

from __future__ import annotations

import logging
from pathlib import Path

from pahf_robot.scenarios import TaskView
from pahf_robot.types import Outcome, Target

log = logging.getLogger(__name__)


class DecisionOnlyExecutor:
    """`--sim none`: every target is carried out perfectly, so only the choices are studied."""

    name = "none"

    def execute(self, view: TaskView, target: Target, seed: int) -> Outcome:
        return Outcome(success=True, failure=None, steps=0)

    def on_event(self, kind: str, text: str = "") -> None:
        """Nothing to watch without physics."""

    def close(self) -> None:
        pass


class PhysicsExecutor:
    """`--sim pybullet`: spawns the scene in the tabletop env and runs the scripted grasp controller.

    One env per executor: the robot and fixtures load once, each episode only respawns the scene.
    With render_mode "human" (played at `speed` x real time) or a `record` directory (one video per
    episode), a Watch shows what `on_event` reports; otherwise no watching code runs at all.
    """

    name = "pybullet"

    def __init__(
        self, render_mode: str | None = None, driver=None, speed: float = 1.0, record: str | Path | None = None
    ):
        import gymnasium

        import envs  # noqa: F401  (registers pahf/Tabletop-v0)
        from pahf_robot.controller import GraspController

        if record is not None and render_mode == "human":
            raise ValueError("record videos off-screen or watch the GUI, not both")
        kwargs = {"render_mode": render_mode, "speed": speed}
        if record is not None:
            from pahf_robot.watch import VIDEO_SIZE

            kwargs.update(render_mode="rgb_array", image_size=VIDEO_SIZE)
        if driver is not None:
            kwargs["driver"] = driver
        self.env = gymnasium.make("pahf/Tabletop-v0", **kwargs).unwrapped
        self.controller = GraspController()
        self.watch = None
        if record is not None or render_mode == "human":
            from pahf_robot.watch import Watch

            self.watch = Watch(self.env, Path(record) if record is not None else None)

    def execute(self, view: TaskView, target: Target, seed: int) -> Outcome:
        scene = {"objects": list(view.objects), "places": list(view.places)}
        options = {"scene": scene, "target": {"object": target.object, "place": target.place}}
        obs, info = self.env.reset(seed=seed, options=options)
        if self.watch is None:
            return self.controller.execute(self.env, target)
        self.watch.on_reset(target, obs, info)
        outcome = self.controller.execute(self.watch.watched_env, target)
        self.watch.on_outcome(outcome)
        return outcome

    def on_event(self, kind: str, text: str = "") -> None:
        """What happens in the episode (see pahf_robot.watch.EVENTS), for whoever watches."""
        if self.watch is not None:
            self.watch.on_event(kind, text)

    def close(self) -> None:
        if self.watch is not None:
            self.watch.close()
        self.env.close()


def make_driver_for(config):
    """None (the env builds its own PyBullet driver) or a RemoteDriver, connected now so a missing
    server is a one-line ConnectionError before any episode runs."""
    if config.driver == "local":
        return None
    if config.driver == "remote":
        from envs.remote import RemoteDriver

        return RemoteDriver(config.driver_host, config.driver_port)
    raise ValueError(f"unknown --driver {config.driver!r}: expected 'local' or 'remote'")


def make_executor(config):
    """The executor a run configuration asks for (`config` is a RunConfig)."""
    if config.sim == "none":
        return DecisionOnlyExecutor()
    if config.sim == "pybullet":
        return PhysicsExecutor(
            render_mode="human" if config.gui else None,
            speed=config.speed,
            record=config.record,
            driver=make_driver_for(config),
        )
    raise ValueError(f"unknown --sim {config.sim!r}: expected 'pybullet' or 'none'")
