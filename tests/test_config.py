"""The typed run configuration: choices in one place, flat keys kept, one-line errors."""

from typing import get_args

import pytest
from pydantic import ValidationError

from pahf_robot.agent.planner import MODES, Mode
from pahf_robot.cli import build_parser
from pahf_robot.run.config import PHASES, RunConfig, one_line

SAVED_KEYS = {
    "modes", "personas", "phases", "learning_iter", "scenarios", "sim", "seed", "noise", "embedder", "reasoner",
    "model", "base_url", "human", "memory_db", "reuse_memory", "workers", "executor", "ray_address", "gui", "speed",
    "record", "driver", "driver_host", "driver_port", "perception", "randomize", "reuse_rollouts",
}  # fmt: skip


def test_config_json_keeps_its_flat_keys_and_round_trips():
    config = RunConfig(modes=["pahf"], phases=[1, 3], sim="none", noise=0.1)
    saved = config.to_dict()
    assert set(saved) == SAVED_KEYS
    assert RunConfig.from_dict({**saved, "from_a_later_version": 1}) == config


def test_randomize_is_selectable_and_off_by_default():
    parser = build_parser()
    assert parser.parse_args(["run", "--randomize"]).randomize is True
    assert parser.parse_args(["run", "--no-randomize"]).randomize is False
    assert RunConfig().randomize is False and RunConfig().perception == "camera"


def test_rollout_reuse_is_on_by_default_and_can_be_turned_off():
    parser = build_parser()
    assert parser.parse_args(["run", "--no-reuse-rollouts"]).reuse_rollouts is False
    assert RunConfig().reuse_rollouts is True


def test_the_modes_literal_and_the_planner_agree():
    assert get_args(Mode) == tuple(MODES) and PHASES == (1, 2, 3, 4)


@pytest.mark.parametrize(
    "flag", ["--sim", "--embedder", "--reasoner", "--human", "--executor", "--driver", "--perception"]
)
def test_command_line_choices_come_from_the_config(flag):
    parser = build_parser()
    for value in get_args(RunConfig.model_fields[flag[2:]].annotation):
        assert getattr(parser.parse_args(["run", flag, value]), flag[2:]) == value
    with pytest.raises(SystemExit):
        parser.parse_args(["run", flag, "bogus"])


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"modes": ["pahf", "telepathy"]}, "--modes: unknown value 'telepathy'"),
        ({"phases": [5]}, "--phases: unknown value 5"),
        ({"learning_iter": 0}, "--learning-iter: input should be greater than or equal to 1"),
        ({"noise": 1.5}, "--noise:"),
        ({"human": "robot"}, "--human: unknown value 'robot'"),
        ({"learning_iter": "3"}, "--learning-iter: input should be a valid integer"),
        ({"gui": True, "record": "videos"}, "--gui and --record: choose one"),
        ({"driver": "remote", "workers": 2}, "--driver remote: a driver server takes one client"),
        ({"sim": "none", "record": "videos"}, "--gui / --record show the physics"),
    ],
)
def test_bad_values_are_one_line_naming_the_flag(options, needle):
    with pytest.raises(ValidationError) as failed:
        RunConfig(**options)
    line = one_line(failed.value)
    assert needle in line and "\n" not in line


def test_list_options_accept_comma_text_and_single_values():
    config = RunConfig(modes="pahf, no-memory", phases=1, personas="alex")
    assert (config.modes, config.phases, config.personas) == (["pahf", "no-memory"], [1], ["alex"])
