"""Perception from one RGB-D view, and a controller that acts on it alone."""

import inspect
import math
import sys

import numpy as np
import pytest

import pahf_robot.act.controller as controller_module
import pahf_robot.act.grasp as grasp_module
from envs.bullet_driver import PyBulletDriver
from envs.driver import SCENE_CAMERA, CameraSpec
from envs.layout import HAND_OVER, LOOK_POINT
from envs.perception import back_project, convex_hull, min_area_rectangle
from envs.safety import SafeDriver
from envs.tabletop import TabletopEnv
from pahf_robot.act.controller import GraspController
from pahf_robot.core.types import Target

SCENE = {
    "objects": ["coffee mug", "apple", "a book about birds", "energy drink", "walnuts", "cereal"],
    "places": ["top shelf", "recycling bin"],
}


def test_the_smallest_rectangle_around_a_turned_box_is_the_box():
    angle = 0.4
    corners = np.array([[0.06, 0.025], [-0.06, 0.025], [-0.06, -0.025], [0.06, -0.025]])
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    inside = np.random.default_rng(0).uniform(-1, 1, size=(200, 2)) * [0.06, 0.025]
    points = np.vstack([corners, inside]) @ turn.T + [0.4, 0.1]
    yaw, centre, (length, width) = min_area_rectangle(convex_hull(points))
    assert yaw == pytest.approx(angle, abs=1e-6)
    np.testing.assert_allclose(centre, [0.4, 0.1], atol=1e-9)
    assert (length, width) == pytest.approx((0.12, 0.05), abs=1e-9)


def test_a_pixel_goes_back_along_its_ray():
    camera = CameraSpec.look_at((1.0, 0.0, 1.0), (0.4, 0.0, 0.0), 50.0, 8, 6)
    depth = np.full((6, 8), 0.5)
    points = back_project(depth, camera)
    axis = np.asarray(camera.rotation)[:, 2]
    assert np.allclose((points - camera.position) @ axis, 0.5), "depth is measured along the optical axis"
    assert points[0, 0, 2] > points[-1, 0, 2], "the top row of the image is the far, high side"


def test_the_camera_places_every_object_within_millimetres():
    env = TabletopEnv(randomize=True)
    try:
        errors = []
        for seed in range(3):
            obs, info = env.reset(seed=seed, options={"scene": SCENE})
            truth = env.true_objects()
            for name, slot in info["objects"].items():
                assert obs["object_mask"][slot], f"{name} not seen"
                centre, size = truth[name]
                errors.append(np.linalg.norm(obs["object_pose"][slot][:2] - centre[:2]))
                assert obs["object_size"][slot][2] == pytest.approx(size[2], abs=0.012), name  # an apple stem counts
        assert np.median(errors) < 0.005 and max(errors) < 0.015
    finally:
        env.close()


class Blindfolded(SafeDriver):
    """A robot whose simulator poses only the env's scoring may read: anyone else calling body_poses
    (the controller, or an observation built from them) fails the episode loudly."""

    def body_poses(self, handles):
        caller = sys._getframe(1).f_code.co_name
        if caller != "_achieved":
            raise AssertionError(f"{caller} read the simulator's poses")
        return super().body_poses(handles)


def test_the_controller_acts_on_the_camera_alone():
    assert not hasattr(controller_module, "catalogue") and not hasattr(grasp_module, "catalogue")
    for module in (controller_module, grasp_module):
        assert "envs.assets" not in inspect.getsource(module), f"{module.__name__} imports the asset catalogue"
    env = TabletopEnv(driver=Blindfolded(PyBulletDriver()), perception="camera", randomize=True)
    try:
        env.reset(seed=4, options={"scene": SCENE})
        outcome = GraspController().execute(env, Target("energy drink", "recycling bin"))
        assert outcome.success, outcome
        outcome = GraspController().execute(env, Target("apple", HAND_OVER))  # the view is stale: look again
        assert outcome.success, outcome
        assert np.linalg.norm(np.subtract(env.driver.ee_pose()[0], LOOK_POINT)) > 0.05
    finally:
        env.close()


def test_unknown_perception_is_one_line():
    with pytest.raises(ValueError, match="perception must be one of"):
        TabletopEnv(perception="lidar")


def test_the_scene_camera_is_part_of_the_driver_contract():
    driver = PyBulletDriver()
    try:
        assert driver.scene_camera() == SCENE_CAMERA
        view = driver.scene_view()
        assert view["depth"].shape == view["segmentation"].shape == (SCENE_CAMERA.height, SCENE_CAMERA.width)
    finally:
        driver.close()
