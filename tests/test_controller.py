"""The scripted grasp controller: physical pick-and-place for every asset kind, and honest failures."""

import numpy as np
import pytest

from envs.assets import asset_kinds
from envs.layout import HAND_OVER
from envs.tabletop import TabletopEnv
from pahf_robot.act.controller import CLOSED, OPEN, GraspController
from pahf_robot.core.types import FAILURE_KINDS, Target

PLACES = ["top shelf", "recycling bin", "kitchen cabinet", "left side of the counter"]
NEIGHBOURS = ["apple", "vitamins", "a book about birds"]


@pytest.fixture(scope="module")
def env():
    env = TabletopEnv()
    yield env
    env.close()


def scene(kind: str) -> dict:
    """The kind's own name maps to itself, so every asset kind gets exercised."""
    return {"objects": [kind, *[n for n in NEIGHBOURS if n != kind][:2]], "places": PLACES}


@pytest.mark.parametrize("kind", asset_kinds())
def test_hand_over_and_place_succeed_for_every_kind(env, kind):
    controller = GraspController()
    for i, place in enumerate([HAND_OVER, PLACES[asset_kinds().index(kind) % len(PLACES)]]):
        _, info = env.reset(seed=i, options={"scene": scene(kind)})
        assert info["object_kinds"][kind] == kind
        outcome = controller.execute(env, Target(kind, place))
        assert outcome.success, (kind, place, outcome)
        seconds = outcome.steps * env.driver.physics_dt
        assert outcome.failure is None and 2 < seconds <= 10, "a real arm's time"


def test_success_is_reported_by_the_env_too(env):
    env.reset(seed=1, options={"scene": scene("can"), "target": {"object": "can", "place": "top shelf"}})
    outcome = GraspController().execute(env, Target("can", "top shelf"))
    hand, _ = env.driver.ee_pose()
    _, reward, terminated, _, info = env.step(np.array([*hand, 0.0, OPEN], dtype=np.float32))
    assert outcome.success and info["task_success"] and reward == 1.0 and terminated


def test_two_tasks_in_one_scene(env):
    env.reset(seed=2, options={"scene": {"objects": ["herbal tea", "walnuts"], "places": ["drawer"]}})
    controller = GraspController()
    assert controller.execute(env, Target("walnuts", "drawer")).success
    assert controller.execute(env, Target("herbal tea", HAND_OVER)).success


class Butterfingers(GraspController):
    """Opens the hand once the object has been carried 10 cm."""

    def gripper_for(self, phase: str, travelled: float) -> float:
        return OPEN if travelled > 0.1 else CLOSED


def test_object_let_go_mid_carry_is_reported_dropped_after_one_retry(env):
    env.reset(seed=3, options={"scene": scene("jar")})
    outcome = Butterfingers().execute(env, Target("jar", HAND_OVER))
    assert (outcome.success, outcome.failure, outcome.retries) == (False, "dropped", 1)


class OnceButterfingers(GraspController):
    """Lets go 10 cm into the first carry only; the retry's carry starts from 0 cm again."""

    def __init__(self) -> None:
        super().__init__()
        self.let_go = self.retrying = False

    def gripper_for(self, phase: str, travelled: float) -> float:
        self.retrying = self.retrying or (self.let_go and travelled < 0.05)
        if not self.retrying and travelled > 0.1:
            self.let_go = True
            return OPEN
        return CLOSED


def test_a_drop_is_followed_by_a_new_look_and_one_retry(env):
    env.reset(seed=3, options={"scene": scene("jar")})
    looks = env.set_target("jar", HAND_OVER)[1]["looks"]
    outcome = OnceButterfingers().execute(env, Target("jar", HAND_OVER))
    assert (outcome.success, outcome.failure, outcome.retries) == (True, None, 1), outcome
    assert env.set_target("jar", HAND_OVER)[1]["looks"] == looks + 1, "it looked again before the retry"


def test_object_out_of_reach_is_reported_unreachable(env):
    env.reset(seed=4, options={"scene": scene("mug")})
    body = env._objects[0][2]
    env.driver.driver._client.resetBasePositionAndOrientation(body, [0.98, 0.5, 0.045], [0, 0, 0, 1])
    env.driver.step(2)
    outcome = GraspController().execute(env, Target("mug", HAND_OVER))
    assert (outcome.success, outcome.failure) == (False, "unreachable")


def test_running_out_of_steps_is_a_timeout(env):
    env.reset(seed=5, options={"scene": scene("box")})
    outcome = GraspController(max_env_steps=5).execute(env, Target("box", HAND_OVER))
    assert (outcome.success, outcome.failure) == (False, "timeout")
    assert outcome.failure in FAILURE_KINDS


@pytest.mark.parametrize("target", [Target("pizza", HAND_OVER), Target("mug", "attic")])
def test_unknown_names_raise_value_error(env, target):
    env.reset(seed=0, options={"scene": scene("mug")})
    with pytest.raises(ValueError, match="unknown target"):
        GraspController().execute(env, target)
