"""The pick-and-place task on its own: scene and target checks and the success test, with no robot."""

import pytest

from envs.layout import HAND_OVER
from envs.task import RESTING_SPEED, PickAndPlaceTask
from pahf_robot.core.types import Target

SCENE = {"objects": ["herbal tea", "walnuts"], "places": ["top shelf"]}


def test_scene_is_laid_out_with_kinds_and_the_hand_over_zone():
    task = PickAndPlaceTask.from_options(SCENE, {"object": "walnuts", "place": "top shelf"})
    assert task.objects == ("herbal tea", "walnuts") and task.kinds == ("mug", "bag")
    assert [p.name for p in task.places] == ["top shelf", HAND_OVER]
    assert task.target == ("walnuts", "top shelf") and task.target_slot == 1


@pytest.mark.parametrize(
    ("scene", "target", "needle"),
    [
        ({"objects": []}, None, "no objects"),
        ({"objects": ["tea", "tea"]}, None, "duplicate"),
        ({"objects": ["tea"], "shelves": []}, None, "unknown scene keys"),
        (SCENE, {"object": "pizza", "place": HAND_OVER}, "unknown target object"),
        (SCENE, {"object": "walnuts", "place": "fridge"}, "unknown target place"),
        (SCENE, {"object": "walnuts"}, "target must be"),
    ],
)
def test_bad_scenes_and_targets_are_refused(scene, target, needle):
    with pytest.raises(ValueError, match=needle):
        PickAndPlaceTask.from_options(scene, target)


def test_success_needs_the_target_at_rest_in_its_place_and_let_go():
    task = PickAndPlaceTask.from_options(SCENE).with_target(Target("herbal tea", HAND_OVER))
    zone = next(p for p in task.places if p.name == HAND_OVER)
    inside = (zone.x, zone.y, zone.surface + 0.04)
    assert task.is_success(inside, speed=0.0, touching=False)
    assert not task.is_success(inside, speed=RESTING_SPEED, touching=False)
    assert not task.is_success(inside, speed=0.0, touching=True)
    assert not task.is_success((zone.x + zone.region[0] + 0.01, zone.y, zone.surface + 0.04), 0.0, False)
    assert not task.is_success((zone.x, zone.y, zone.surface + 0.5), 0.0, False), "held above the zone"
    assert not task.with_target(None).is_success(inside, 0.0, False)
