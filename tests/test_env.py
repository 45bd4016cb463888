"""The tabletop env: Gymnasium contract, scene layout, resets, rendering and bad input."""

import json
import math
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.assets import ASSETS, asset_for, asset_kinds, catalogue, colour_for
from envs.layout import (
    HAND_OVER,
    MAX_OBJECTS,
    RANDOM_GAP,
    layout_places,
    place_spec,
    random_object_poses,
    reachable,
)
from envs.tabletop import TabletopEnv

SCENE = {"objects": ["herbal tea", "walnuts", "a book about birds"], "places": ["top shelf", "recycling bin"]}


@pytest.fixture(scope="module")
def env():
    env = TabletopEnv()
    yield env
    env.close()


@pytest.mark.parametrize("env_id", envs.ENV_IDS)
def test_check_env_passes_with_no_options(env_id):
    env = gymnasium.make(env_id)
    check_env(env.unwrapped)
    env.close()
    env.close()


def test_reset_lays_out_named_places_and_objects(env):
    obs, info = env.reset(seed=3, options={"scene": SCENE, "target": {"object": "walnuts", "place": "top shelf"}})
    assert set(info["objects"]) == set(SCENE["objects"])
    assert set(info["places"]) == {"top shelf", "recycling bin", HAND_OVER}
    assert info["target"] == {"object": "walnuts", "place": "top shelf"}
    assert info["task_success"] is False
    assert obs["object_mask"].sum() == 3 and obs["object_pose"].shape == (MAX_OBJECTS, 7)
    assert obs in env.observation_space
    positions = [obs["object_pose"][slot][:2] for slot in info["objects"].values()]
    for i, a in enumerate(positions):
        for b in positions[i + 1 :]:
            assert np.linalg.norm(a - b) > 0.1
    for name, slot in info["objects"].items():
        size = catalogue()[asset_for(name)].size
        assert obs["object_pose"][slot][2] == pytest.approx(size[2] / 2, abs=0.005), "objects rest on the table"


def test_bring_me_scene_needs_no_places(env):
    _, info = env.reset(
        seed=0,
        options={"scene": {"objects": ["apple"], "places": []}, "target": {"object": "apple", "place": HAND_OVER}},
    )
    assert list(info["places"]) == [HAND_OVER]


def test_resets_are_deterministic_and_leave_no_leftover_bodies(env):
    first, _ = env.reset(seed=7, options={"scene": SCENE})
    count = env.driver.body_count()
    again, _ = env.reset(seed=7, options={"scene": SCENE})
    assert env.driver.body_count() == count
    for key in first:
        np.testing.assert_allclose(first[key], again[key], atol=1e-6)
    other, _ = env.reset(seed=8, options={"scene": SCENE})
    assert not np.allclose(first["object_pose"], other["object_pose"])
    env.reset(seed=8, options={"scene": {"objects": ["apple"], "places": []}})
    assert env.driver.body_count() == count - 2 - 2, "two objects and two places fewer"


def test_randomized_layouts_keep_objects_apart_and_in_reach():
    rng = np.random.default_rng(0)
    for _ in range(20):
        radii = rng.uniform(0.03, 0.075, size=MAX_OBJECTS)
        poses = random_object_poses(rng, radii)
        for i, (x, y, yaw) in enumerate(poses):
            assert 0 <= yaw < 2 * math.pi and reachable(x, y)
            for j in range(i):
                assert math.dist((x, y), poses[j][:2]) >= radii[i] + radii[j] + RANDOM_GAP[0] - 1e-9


def test_place_geometry_follows_keywords(caplog):
    top, middle, bottom = (place_spec(f"{level} shelf", 0.7, 0.0) for level in ("top", "middle", "bottom"))
    assert top.surface > middle.surface > bottom.surface > 0
    boards = [part for part in top.parts if part.half_extents[2] < 0.01]
    assert len(boards) == 3, "the top shelf's unit shows its bottom and middle boards below it"
    bin_ = place_spec("recycling bin", 0.7, 0.0)
    assert bin_.shape == "bin" and bin_.top > bin_.surface and len(bin_.parts) == 5
    assert place_spec("kitchen cabinet", 0.7, 0.0).shape == "tray"
    assert place_spec("drawer", 0.7, 0.0).shape == "tray"
    assert place_spec("fridge door shelf", 0.7, 0.0).shape == "shelf"
    with caplog.at_level("INFO", logger="envs.layout"):
        assert place_spec("left side of the counter", 0.7, 0.0).shape == "pad"
        assert not caplog.records, "a counter is a surface by name"
        assert place_spec("the attic", 0.7, 0.0).shape == place_spec("the attic", 0.7, 0.1).shape == "pad"
    assert len(caplog.records) == 1 and "surface zone" in caplog.records[0].getMessage()
    specs = layout_places(["top shelf", "bottom shelf", "recycling bin", "kitchen cabinet"])
    assert [s.name for s in specs][-1] == HAND_OVER
    assert len({(s.x, s.y) for s in specs}) == 5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scene": {"objects": [f"thing {i}" for i in range(MAX_OBJECTS + 1)], "places": []}}, "do not fit"),
        ({"scene": {"objects": ["mug", "mug"], "places": []}}, "duplicate object"),
        ({"scene": {"objects": [], "places": []}}, "no objects"),
        ({"scene": {"objects": ["mug"], "places": ["a", "b", "c", "d", "e"]}}, "do not fit"),
        ({"scene": {"objects": ["mug"], "places": ["drawer", "drawer"]}}, "duplicate place"),
        (
            {"scene": {"objects": ["mug"], "places": []}, "target": {"object": "tea", "place": HAND_OVER}},
            "unknown target object",
        ),
        (
            {"scene": {"objects": ["mug"], "places": []}, "target": {"object": "mug", "place": "attic"}},
            "unknown target place",
        ),
        (
            {"scene": {"objects": ["mug"], "places": [{"name": "roof", "position": [1.4, 0.0]}]}},
            "out of the robot's reach",
        ),
        ({"scene": {"objects": ["mug"], "places": [{"name": "pad", "position": [0.4, 0.0]}]}}, "overlaps"),
        ({"scenery": {}}, "unknown reset options"),
    ],
)
def test_bad_input_raises_clear_value_error(env, options, message):
    with pytest.raises(ValueError, match=message):
        env.reset(seed=0, options=options)


def test_set_target_rejects_unknown_names(env):
    env.reset(seed=0, options={"scene": SCENE})
    with pytest.raises(ValueError, match="unknown target object"):
        env.set_target("pizza", HAND_OVER)
    _, info = env.set_target("walnuts", "recycling bin")
    assert info["target"] == {"object": "walnuts", "place": "recycling bin"}


def test_step_moves_the_hand_and_counts_physics_steps(env):
    obs, info = env.reset(seed=0, options={"scene": SCENE})
    start = obs["ee_pose"][:3].copy()
    action = np.array([0.45, 0.1, 0.2, 0.0, 1.0], dtype=np.float32)
    for _ in range(120):  # two simulated seconds: the hand moves at most 0.25 m/s
        obs, reward, terminated, truncated, info = env.step(action)
    assert np.linalg.norm(obs["ee_pose"][:3] - action[:3]) < 0.01 < np.linalg.norm(start - action[:3])
    assert reward == 0.0 and not terminated and not truncated
    assert info["physics_steps"] == env.settle_steps + 120 * env.substeps


def test_rgb_array_and_camera_observations():
    env = TabletopEnv(render_mode="rgb_array", camera=True, image_size=(160, 120))
    obs, _ = env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8 and frame.std() > 0
    assert obs["rgb"].shape == (120, 160, 3) and obs["depth"].shape == (120, 160)
    assert obs in env.observation_space
    env.close()


def test_human_mode_without_display_fails_clearly(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(RuntimeError, match="DISPLAY"):
        TabletopEnv(render_mode="human")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("herbal tea", "mug"),
        ("walnuts", "bag"),
        ("ice-cold water with ice", "cup"),
        ("a book about birds", "book"),
        ("energy drink", "can"),
        ("chamomile infusion", "mug"),
        ("leftover pizza", "plate"),
        ("vitamins", "jar"),
        ("phone charger", "box"),
        ("a bowl of soup", "bowl"),
        ("apple", "fruit"),
        ("milk", "carton"),
        ("a bottle of olive oil", "bottle"),
        ("something unheard of", "box"),
    ],
)
def test_asset_for_maps_free_text_by_keywords(name, kind):
    assert asset_for(name) == kind


def test_colours_are_fixed_by_name_and_differ():
    assert colour_for("herbal tea") == colour_for("herbal tea")
    assert len({colour_for(name) for name in ("herbal tea", "walnuts", "vitamins", "apple")}) == 4


def test_generated_assets_fit_the_gripper():
    assert len(asset_kinds()) >= 11
    for kind, spec in catalogue().items():
        assert min(spec.size[:2]) <= 0.0605 and 0.05 <= spec.mass <= 0.5, kind
        for path in (spec.urdf, spec.mesh, *spec.collision):
            assert Path(path).is_file(), path
    assert json.loads((ASSETS / "catalogue.json").read_text()).keys() == catalogue().keys()
