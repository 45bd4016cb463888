"""The controller's grasp geometry as plain functions: no env, no simulator."""

import math

import numpy as np
import pytest

from envs.driver import GRIPPER_MAX_WIDTH
from pahf_robot.act.grasp import (
    CLOSED,
    GRASP_BELOW_TOP,
    HAND_DISCS,
    OPEN,
    WRIST_CENTRE,
    grasp_pose,
    gripper_command,
    obstacle_boxes,
    palm_blocked,
    path_clear,
    plan_path,
    world_extents,
    wrap_half_turn,
    wrist_friendly_yaw,
)

UPRIGHT = np.array([0.0, 0.0, 0.0, 1.0])
TURNED = np.array([0.0, 0.0, math.sin(math.pi / 4), math.cos(math.pi / 4)])  # 90 degrees about z
NO_OBSTACLES = np.zeros((0, 6))
PLACE = {"position": [0.7, 0.0, 0.0], "top": 0.01}


def pose(x: float, y: float, z: float, quaternion: np.ndarray = UPRIGHT) -> np.ndarray:
    return np.array([x, y, z, *quaternion])


@pytest.mark.parametrize("angle", [-3.0, -math.pi / 2, 0.0, 1.0, math.pi / 2, 4.0])
def test_yaws_half_a_turn_apart_are_the_same_grasp(angle):
    wrapped = wrap_half_turn(angle)
    assert -math.pi / 2 <= wrapped < math.pi / 2
    assert wrap_half_turn(angle + math.pi) == pytest.approx(wrapped)
    assert math.sin(2 * wrapped) == pytest.approx(math.sin(2 * angle))


def test_gripper_command_spans_closed_to_open():
    assert gripper_command(0.0) == CLOSED and gripper_command(GRIPPER_MAX_WIDTH) == OPEN
    assert gripper_command(GRIPPER_MAX_WIDTH / 2) == pytest.approx(0.0)
    assert gripper_command(1.0) == OPEN


def test_world_extents_follow_the_turn_about_z():
    size = np.array([0.05, 0.1, 0.12])
    np.testing.assert_allclose(world_extents(pose(0, 0, 0), size), size)
    np.testing.assert_allclose(world_extents(pose(0, 0, 0, TURNED), size), [0.1, 0.05, 0.12], atol=1e-9)


@pytest.mark.parametrize("yaw", [-1.2, 0.0, 0.7, 1.5])
def test_wrist_friendly_yaw_is_the_same_grasp_with_the_wrist_mid_range(yaw):
    pick, place = np.array([0.4, 0.3, 0.05]), np.array([0.7, -0.2, 0.0])
    chosen = wrist_friendly_yaw(yaw, pick, place)
    assert math.sin(chosen - yaw) == pytest.approx(0.0, abs=1e-9), "a whole number of half turns"
    bearing = math.atan2(*(pick[1::-1] / np.hypot(*pick[:2]) + place[1::-1] / np.hypot(*place[:2])))
    assert abs(WRIST_CENTRE + bearing - chosen) <= math.pi / 2 + 1e-9


def test_palm_lands_on_a_tall_neighbour_along_the_closing_axis_only():
    tall = np.array([[0.4, 0.1, 0.03, 0.03, 0.2, 0.0]])  # a box 10 cm to the left (+y), 20 cm tall
    centre = np.array([0.4, 0.0])
    assert palm_blocked(centre, 0.05, 0.0, tall), "yaw 0 closes along y: the palm reaches the box"
    assert not palm_blocked(centre, 0.05, math.pi / 2, tall), "turned, the palm lies along x"
    low = tall.copy()
    low[0, 4] = 0.02
    assert not palm_blocked(centre, 0.05, 0.0, low), "a low box passes under the palm"


def test_paths_go_straight_when_clear_and_over_a_box_when_not():
    start, goal = np.array([0.35, -0.2, 0.15]), np.array([0.35, 0.2, 0.15])
    assert plan_path(start, goal, NO_OBSTACLES, HAND_DISCS) == [goal]
    wall = np.array([[0.35, 0.0, 0.05, 0.05, 0.3, 0.0]])
    assert not path_clear(start, goal, wall, HAND_DISCS)
    path = plan_path(start, goal, wall, HAND_DISCS)
    assert len(path) > 1 and np.array_equal(path[-1], goal)
    legs = zip([start, *path[:-1]], path, strict=True)
    assert all(path_clear(a, b, wall, HAND_DISCS) for a, b in list(legs)[1:])
    assert max(p[2] for p in path) > 0.3


def test_path_never_drags_the_fingers_over_the_table():
    assert not path_clear(np.array([0.4, 0.0, 0.1]), np.array([0.4, 0.2, 0.005]), NO_OBSTACLES, HAND_DISCS)


def test_obstacles_are_the_other_objects_and_every_place():
    obs = {
        "object_mask": np.array([1, 1, 0]),
        "object_pose": np.array([pose(0.4, 0.0, 0.05), pose(0.4, 0.2, 0.06), pose(0, 0, 0)]),
        "object_size": np.array([[0.06, 0.06, 0.1], [0.06, 0.08, 0.12], [0, 0, 0]]),
    }
    info = {"places": {"shelf": {"position": [0.7, 0.1, 0.0], "footprint": [0.08, 0.08], "top": 0.3}}}
    boxes = obstacle_boxes(obs, info, exclude=0)
    assert boxes.shape == (2, 6)
    np.testing.assert_allclose(boxes[0], [0.4, 0.2, 0.05, 0.05, 0.12, 0.05])
    np.testing.assert_allclose(boxes[1], [0.7, 0.1, 0.08, 0.08, 0.3, 0.0])


def test_a_box_is_taken_across_its_narrow_side_just_under_its_top():
    size = np.array([0.092, 0.052, 0.07])  # perceived: length along its yaw, width, height
    point, yaw, width = grasp_pose(pose(0.4, 0.0, 0.035), size, False, PLACE, NO_OBSTACLES, 0.004)
    assert width == pytest.approx(0.052)
    np.testing.assert_allclose(point, [0.4, 0.0, 0.07 - GRASP_BELOW_TOP])
    assert abs(math.sin(yaw)) == pytest.approx(0.0, abs=1e-9), "at yaw 0 the fingers close along y, the 5.2 cm side"


def test_a_low_object_is_taken_at_mid_height():
    size = np.array([0.13, 0.06, 0.03])
    point, _, _ = grasp_pose(pose(0.4, 0.0, 0.015), size, False, PLACE, NO_OBSTACLES, 0.004)
    assert point[2] == pytest.approx(0.015)


def test_a_round_object_is_taken_square_to_the_carry():
    size = np.array([0.06, 0.06, 0.115])
    place = {"position": [0.4, 0.3, 0.0], "top": 0.01}  # straight along +y
    _, yaw, width = grasp_pose(pose(0.4, 0.0, size[2] / 2), size, True, place, NO_OBSTACLES, 0.004)
    assert width == pytest.approx(0.06)
    assert wrap_half_turn(yaw) == pytest.approx(-math.pi / 2), "closing along x, square to the carry along y"


def test_a_turned_box_turns_the_hand_with_it():
    size = np.array([0.12, 0.045, 0.15])
    _, yaw, width = grasp_pose(pose(0.4, 0.0, 0.075, TURNED), size, False, PLACE, NO_OBSTACLES, 0.004)
    assert width == pytest.approx(0.045)
    assert abs(math.sin(yaw - math.pi / 2)) == pytest.approx(0.0, abs=1e-9)


def test_a_short_neighbour_under_an_open_finger_turns_the_hand():
    short = np.array([[0.4, 0.065, 0.02, 0.02, 0.065, 0.02]])  # 6.5 cm tall, under the +y finger at yaw 0
    size = np.array([0.06, 0.06, 0.1])
    centre = pose(0.4, 0.0, 0.05)
    assert palm_blocked(centre[:2], 0.07, 0.0, short, width=0.06), "the finger would land on it"
    assert not palm_blocked(centre[:2], 0.07, 0.0, short), "the palm alone passes over it"
    point, yaw, width = grasp_pose(centre, size, True, PLACE, short, 0.004)
    assert abs(math.sin(yaw)) > 0.3, "turned away from yaw 0"
    assert not palm_blocked(point[:2], point[2], yaw, short, width=width), "to where the fingers land clear"
