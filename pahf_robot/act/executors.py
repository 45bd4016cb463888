"""Carrying out a planner's target: with physics (env + scripted grasp) or as a decision-only study."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pahf_robot.act.observer import EpisodeObserver
from pahf_robot.act.rollouts import RolloutCache, rollout_key
from pahf_robot.bench.scenarios import TaskView
from pahf_robot.core.types import Outcome, Target


class Executor(Protocol):
    """Carries out a planner's target in a scene; `observer` hears the episode's story for whoever watches."""

    name: str
    observer: EpisodeObserver

    def execute(self, view: TaskView, target: Target, seed: int) -> Outcome:
        """Lay out `view`'s scene with `seed`, carry out `target` and report what physically happened."""

    def close(self) -> None:
        """Release the simulator or robot."""


class DecisionOnlyExecutor:
    """`--sim none`: every target is carried out perfectly, so only the choices are studied."""

    name = "none"

    def __init__(self) -> None:
        self.observer = EpisodeObserver()

    def execute(self, view: TaskView, target: Target, seed: int) -> Outcome:
        return Outcome(success=True, failure=None, steps=0)

    def close(self) -> None:
        pass


class PhysicsExecutor:
    """`--sim pybullet`: spawns the scene in the tabletop env and runs the scripted grasp controller.

    One env per executor: the robot and fixtures load once, each episode only respawns the scene. The
    controller sees objects through `perception` ("camera" or "tracker"); `randomize` varies the scenes.
    With render_mode "human" (played at `speed` x real time) or a `record` directory (one video per
    episode), a Watch is the observer and shows the story; otherwise no watching code runs at all.
    """

    name = "pybullet"

    def __init__(
        self,
        render_mode: str | None = None,
        driver=None,
        speed: float = 1.0,
        record: str | Path | None = None,
        perception: str = "camera",
        randomize: bool = False,
    ):
        import gymnasium

        import envs  # noqa: F401  (registers pahf/Tabletop-v0)
        from pahf_robot.act.controller import GraspController

        if record is not None and render_mode == "human":
            raise ValueError("record videos off-screen or watch the GUI, not both")
        kwargs = {"render_mode": render_mode, "speed": speed, "perception": perception, "randomize": randomize}
        if record is not None:
            from pahf_robot.act.watch import VIDEO_SIZE

            kwargs.update(render_mode="rgb_array", image_size=VIDEO_SIZE)
        if driver is not None:
            kwargs["driver"] = driver
        self.env = gymnasium.make("pahf/Tabletop-v0", **kwargs).unwrapped
        self.controller = GraspController()
        self.watch = None
        if record is not None or render_mode == "human":
            from pahf_robot.act.watch import Watch

            self.watch = Watch(self.env, Path(record) if record is not None else None)
        self.observer: EpisodeObserver = self.watch or EpisodeObserver()
        self.rollouts: RolloutCache | None = None

    def use_rollouts(self, path: Path) -> None:
        """Look unwatched rollouts up in (and add them to) the cache at `path`, from now on."""
        if self.watch is not None:
            raise ValueError("a watched or recorded rollout is there to be seen: it is never looked up")
        if self.rollouts is not None and self.rollouts.path == Path(path):
            return
        if self.rollouts is not None:
            self.rollouts.close()
        self.rollouts = RolloutCache(path)

    def execute(self, view: TaskView, target: Target, seed: int) -> Outcome:
        scene = {"objects": list(view.objects), "places": list(view.places)}
        key = None
        if self.rollouts is not None:
            key = rollout_key(seed, scene["objects"], scene["places"], target.object, target.place)
            if (known := self.rollouts.get(key)) is not None:
                return known
        options = {"scene": scene, "target": {"object": target.object, "place": target.place}}
        obs, info = self.env.reset(seed=seed, options=options)
        if self.watch is None:
            outcome = self.controller.execute(self.env, target)
            if key is not None:
                self.rollouts.put(key, outcome)
            return outcome
        self.watch.on_reset(target, obs, info)
        outcome = self.controller.execute(self.watch.watched_env, target)
        self.watch.on_outcome(outcome)
        return outcome

    def close(self) -> None:
        if self.watch is not None:
            self.watch.close()
        if self.rollouts is not None:
            self.rollouts.close()
        self.env.close()
