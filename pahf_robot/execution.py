"""Carrying out a planner's target: with physics (env + scripted grasp) or as a decision-only study."""

from __future__ import annotations

import logging

from pahf_robot.scenarios import TaskView
from pahf_robot.types import Outcome, Target

log = logging.getLogger(__name__)


class DecisionOnlyExecutor:
    """`--sim none`: every target is carried out perfectly, so only the choices are studied."""

    name = "none"

    def execute(self, view: TaskView, target: Target, seed: int) -> Outcome:
        return Outcome(success=True, failure=None, steps=0)

    def close(self) -> None:
        pass


class PhysicsExecutor:
    """`--sim pybullet`: spawns the scene in the tabletop env and runs the scripted grasp controller.

    One env per executor: the robot and fixtures load once, each episode only respawns the scene.
    """

    name = "pybullet"

    def __init__(self, render_mode: str | None = None, driver=None):
        import gymnasium

        import envs  # noqa: F401  (registers pahf/Tabletop-v0)
        from pahf_robot.controller import GraspController

        kwargs = {"render_mode": render_mode}
        if driver is not None:
            kwargs["driver"] = driver
        self.env = gymnasium.make("pahf/Tabletop-v0", **kwargs).unwrapped
        self.controller = GraspController()

    def execute(self, view: TaskView, target: Target, seed: int) -> Outcome:
        scene = {"objects": list(view.objects), "places": list(view.places)}
        options = {"scene": scene, "target": {"object": target.object, "place": target.place}}
        self.env.reset(seed=seed, options=options)
        return self.controller.execute(self.env, target)

    def close(self) -> None:
        self.env.close()


def make_executor(config):
    """The executor a run configuration asks for (`config` is a RunConfig)."""
    if config.sim == "none":
        return DecisionOnlyExecutor()
    if config.sim == "pybullet":
        return PhysicsExecutor(render_mode="human" if config.gui else None)
    raise ValueError(f"unknown --sim {config.sim!r}: expected 'pybullet' or 'none'")
