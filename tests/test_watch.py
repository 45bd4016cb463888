"""Watching rollouts: the GUI under Xvfb, recorded videos, replay of a recorded episode, no-display errors."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest

from envs.tabletop import TabletopEnv
from pahf_robot.act import watch
from pahf_robot.act.watch import FRAME_EVERY, HOLD_FRAMES, VIDEO_SIZE, Overlay, VideoWriter
from pahf_robot.cli import main
from pahf_robot.run.config import RunConfig
from pahf_robot.run.records import EPISODES_FILE
from pahf_robot.run.worker import make_executor
from tests.conftest import read_episodes, small_benchmark

TABLE_RGB = np.array([0.72, 0.56, 0.40])
"""The table's colour in envs/tabletop.py."""
SUBSTEPS = inspect.signature(TabletopEnv).parameters["substeps"].default
ONE_PERSONA = ["--modes", "pahf", "--personas", "alex", "--phases", "1", "--learning-iter", "1"]
ONE_PERSONA += ["--sim", "pybullet", "--embedder", "hashing", "--no-progress"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    return small_benchmark(tmp_path_factory.mktemp("bench"), per_phase=2)


def cli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pahf_robot.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


# --- GUI under Xvfb (the `display` fixture of conftest.py, from pytest-xvfb) ---
def screenshot(display: str) -> np.ndarray:
    """The root window as (h, w, 3) RGB, from xwd's format (header, colour map, then Z pixmap rows)."""
    grab = subprocess.run(["xwd", "-root", "-silent", "-display", display], capture_output=True, check=False)
    assert grab.returncode == 0, f"xwd failed: {grab.stderr.decode()}"
    data = grab.stdout
    header = struct.unpack(">25I", data[:100])
    header_size, width, height, byte_order, bits, row_bytes, colours = (header[i] for i in (0, 4, 5, 7, 11, 12, 19))
    depth = bits // 8
    start = header_size + 12 * colours
    rows = np.frombuffer(data[start : start + row_bytes * height], dtype=np.uint8).reshape(height, row_bytes)
    pixels = rows[:, : width * depth].reshape(height, width, depth)
    return pixels[:, :, [2, 1, 0]] if byte_order == 0 else pixels[:, :, depth - 3 :]


def table_share(image: np.ndarray) -> float:
    """Share of pixels whose chromaticity is the table's (shading changes brightness, not hue)."""
    pixels = image.reshape(-1, 3).astype(float)
    total = pixels.sum(axis=1, keepdims=True)
    chroma = pixels / np.maximum(total, 1)
    close = np.abs(chroma - TABLE_RGB / TABLE_RGB.sum()).max(axis=1) < 0.03
    return float(np.mean(close & (total[:, 0] > 120)))


def test_gui_shows_the_scene_while_an_episode_runs(display, tmp_path):
    """The window (1024x768 at the top-left of the screen) shows the table in the middle of its lower half.

    Waits on state, never on time: screenshots are taken for as long as the run is alive, until one shows
    the table; a loaded machine only makes the run, and so the window's life, longer."""
    bench = small_benchmark(tmp_path / "bench", per_phase=1)
    out = tmp_path / "run"
    env = {**os.environ, "DISPLAY": display}
    args = [sys.executable, "-m", "pahf_robot.cli", "run", "--gui", "--speed", "4", "--scenarios", str(bench)]
    log = tmp_path / "log"
    best, shots, scenes = 0.0, 0, 0
    with log.open("w") as sink:
        process = subprocess.Popen([*args, *ONE_PERSONA, "--out", str(out)], env=env, stdout=sink, stderr=sink)
        try:
            while process.poll() is None and best <= 0.5:
                shot = screenshot(display)[:768, :1024]
                shots += 1
                if shot.std() > 20:
                    scenes += 1
                    best = max(best, table_share(shot[400:700, 300:750]))
            process.wait()
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, log.read_text()[-2000:]
    records = read_episodes(out / EPISODES_FILE)
    assert len(records) == 1 and records[0]["outcome"]["steps"] > 0, "the episode ran with physics"
    assert scenes, f"none of {shots} screenshots shows anything but a blank screen"
    assert best > 0.5, f"the table region is not table-coloured in any screenshot (best share {best:.2f})"


# --- recording and replay ---
@pytest.fixture(scope="module")
def recorded(bench, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("recorded")
    code = main(
        ["run", "--scenarios", str(bench), *ONE_PERSONA, "--record", str(root / "videos"), "--out", str(root / "run")]
    )
    assert code == 0
    return root / "run", root / "videos"


def read_video(path: Path) -> list[np.ndarray]:
    return [frame for frame in imageio.get_reader(path)]


def test_recording_writes_one_video_per_episode_as_long_as_the_episode(recorded):
    run_dir, videos = recorded
    records = read_episodes(run_dir / EPISODES_FILE)
    assert sorted(p.name for p in videos.iterdir()) == sorted(f"pahf_alex_p1_pass1_{r['index']}.mp4" for r in records)
    for record in records:
        frames = read_video(videos / f"pahf_alex_p1_pass1_{record['index']}.mp4")
        env_steps = record["outcome"]["steps"] // SUBSTEPS
        moving = 1 + env_steps // FRAME_EVERY
        assert len(frames) == moving + HOLD_FRAMES
        assert frames[0].shape[1] == VIDEO_SIZE[0] and frames[0].shape[0] > VIDEO_SIZE[1]
        scene = [f[: VIDEO_SIZE[1]].astype(float) for f in frames]
        assert np.abs(scene[moving - 1] - scene[0]).mean() > 2, "the arm moved between the first and last frame"
        held = [np.abs(f.astype(float) - frames[moving]).mean() for f in frames[moving:]]
        assert max(held) < 1, "the last frame is held (up to compression)"


def test_replay_reproduces_the_recorded_outcome_and_video(recorded, tmp_path, capsys):
    run_dir, videos = recorded
    record = read_episodes(run_dir / EPISODES_FILE)[1]
    video = tmp_path / "again.mp4"
    assert main(["replay", str(run_dir), "--episode", "1", "--record", str(video)]) == 0
    out = capsys.readouterr().out
    recorded_line = next(line for line in out.splitlines() if line.startswith("recorded:"))
    assert recorded_line.replace("recorded:", "replayed:") in out
    original = read_video(videos / f"pahf_alex_p1_pass1_{record['index']}.mp4")
    assert len(read_video(video)) == len(original)


def test_replay_flags_a_different_outcome(recorded, tmp_path, capsys):
    run_dir, _ = recorded
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    records = read_episodes(copy / EPISODES_FILE)
    records[0]["outcome"]["steps"] += 1
    (copy / EPISODES_FILE).write_text("".join(json.dumps(r) + "\n" for r in records))
    assert main(["replay", str(copy), "--episode", "0"]) == 1
    assert "differs" in capsys.readouterr().err
    assert main(["replay", str(copy), "--episode", "5"]) == 1
    assert "has 2 episodes" in capsys.readouterr().err


def test_runs_that_do_not_watch_build_no_watcher():
    executor = make_executor(RunConfig(sim="pybullet"))
    try:
        assert executor.watch is None and executor.env.render_mode is None
    finally:
        executor.close()


def test_gif_when_ffmpeg_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(watch, "ffmpeg_available", lambda: False)
    writer = VideoWriter(tmp_path / "clip.mp4", fps=15)
    for shade in range(3):
        writer.append(np.full((32, 48, 3), shade * 100, dtype=np.uint8))
    writer.close()
    assert writer.path == tmp_path / "clip.gif"
    assert len(read_video(writer.path)) == 3


def test_overlay_wraps_and_keeps_to_its_line_budget():
    overlay = Overlay(user="alex", task="word " * 60, question="which one?", answer="the tea", feedback="good")
    lines = overlay.lines(width=40, limit=6)
    assert lines[0] == "user: alex" and len(lines) == 6 and all(len(line) <= 40 for line in lines)
    assert lines[2].endswith("...") and lines[3].startswith("question:")


def test_camera_observation_with_segmentation():
    env = TabletopEnv(camera=True, segmentation=True)
    try:
        obs, info = env.reset(seed=0)
        assert obs in env.observation_space
        seen = set(np.unique(obs["segmentation"]).tolist())
        assert seen == {-1, *info["objects"].values()}
        assert obs["rgb"].shape[:2] == obs["depth"].shape == obs["segmentation"].shape
    finally:
        env.close()
    with pytest.raises(ValueError, match="camera"):
        TabletopEnv(segmentation=True)


# --- no display ---
@pytest.mark.parametrize("command", [["run", "--gui", *ONE_PERSONA], ["replay", "RUN", "--episode", "0", "--gui"]])
def test_gui_without_a_display_is_one_line_error(command, recorded, bench):
    run_dir, _ = recorded
    args = [str(run_dir) if a == "RUN" else a for a in command]
    if args[0] == "run":
        args += ["--scenarios", str(bench), "--out", str(run_dir.parent / "never")]
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    result = cli(*args, env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "--gui" in lines[0] and "DISPLAY" in lines[0]
