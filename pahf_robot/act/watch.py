"""Watching rollouts: the story of an episode as text, shown in the GUI or drawn into video frames.

The planner and controller know nothing of this. A Watch is the executor's EpisodeObserver: the protocol
tells it what happens, the executor hands it each env step, and the Watch puts the text on the robot's
screen (`RobotDriver.show_text`) or films the camera with the text drawn in.
Nothing here runs unless someone watches, so batch runs pay no camera cost.
"""

from __future__ import annotations

import logging
import math
import textwrap
import time
from dataclasses import dataclass, fields
from pathlib import Path

import gymnasium
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from envs.tabletop import CAMERA_EYE, CAMERA_TARGET
from pahf_robot.act.observer import EpisodeObserver
from pahf_robot.core.types import Outcome, Target

log = logging.getLogger(__name__)

FRAME_EVERY = 4
"""Env steps between captured frames: 60 env steps per simulated second give 15 frames per second."""
HOLD_FRAMES = 20
"""The last frame is repeated this often so the outcome and feedback can be read."""
HOLD_SECONDS = 2.0
"""The GUI pauses this long (divided by the speed) after an episode, for the same reason."""
VIDEO_SIZE = (480, 360)
"""Camera image size of recorded episodes; rendering costs about the same at 320x240."""
CAMERA_FOV = 60.0
"""Vertical field of view of the env's camera (RobotDriver.camera_image's default)."""
PANEL_LINES = 11
LINE_HEIGHT = 15
FONT_SIZE = 13
VIDEO_SUFFIXES = (".mp4", ".gif")


def describe_target(target: Target) -> str:
    return f"{target.object} -> {target.place}"


def describe_outcome(outcome: Outcome) -> str:
    result = "success" if outcome.success else f"failed: {outcome.failure}"
    return f"{result} ({outcome.steps} physics steps)"


@dataclass
class Overlay:
    """What the viewer is told about the current episode; None fields are not shown."""

    user: str | None = None
    task: str | None = None
    question: str | None = None
    answer: str | None = None
    target: str | None = None
    outcome: str | None = None
    feedback: str | None = None

    def lines(self, width: int, limit: int) -> list[str]:
        """Wrapped "field: text" lines, at most two per field and `limit` in all."""
        lines = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                lines += textwrap.wrap(f"{f.name}: {value}", width, max_lines=2, placeholder=" ...")
        return lines[:limit]


def ffmpeg_available() -> bool:
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return False
    return True


class VideoWriter:
    """Frames to an MP4 (streamed through ffmpeg) or, without ffmpeg, a GIF written on close."""

    def __init__(self, path: Path, fps: float) -> None:
        if path.suffix == ".mp4" and not ffmpeg_available():
            log.warning("ffmpeg is not available (pip install imageio-ffmpeg); writing a GIF instead of %s", path)
            path = path.with_suffix(".gif")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.fps = fps
        self.frames = 0
        self._gif: list[np.ndarray] = []
        self._mp4 = None
        if path.suffix == ".mp4":
            import imageio.v2 as imageio

            self._mp4 = imageio.get_writer(
                path, fps=fps, codec="libx264", quality=7, macro_block_size=16, ffmpeg_log_level="error"
            )

    def append(self, frame: np.ndarray) -> None:
        if self._mp4 is not None:
            self._mp4.append_data(frame)
        else:
            self._gif.append(frame)
        self.frames += 1

    def close(self) -> None:
        if self._mp4 is not None:
            self._mp4.close()
            self._mp4 = None
        elif self._gif:
            images = [Image.fromarray(frame) for frame in self._gif]
            images[0].save(self.path, save_all=True, append_images=images[1:], duration=round(1000 / self.fps), loop=0)
            self._gif = []


def project(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Pixel (x, y) of world points seen by the env's camera; NaN for points behind it."""
    eye, target = np.asarray(CAMERA_EYE, dtype=float), np.asarray(CAMERA_TARGET, dtype=float)
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    offset = np.atleast_2d(points) - eye
    depth = offset @ forward
    depth = np.where(depth > 1e-6, depth, np.nan)
    width, height = size
    focal = height / 2 / math.tan(math.radians(CAMERA_FOV) / 2)
    return np.stack([width / 2 + focal * (offset @ right) / depth, height / 2 - focal * (offset @ up) / depth], axis=1)


def scene_labels(obs: dict, info: dict) -> list[tuple[str, np.ndarray]]:
    """(name, world point just above it) for every object and place in an env observation."""
    labels = []
    for name, slot in info["objects"].items():
        pose, size = obs["object_pose"][slot], obs["object_size"][slot]
        labels.append((name, np.array([pose[0], pose[1], pose[2] + max(size) / 2 + 0.03])))
    for name, place in info["places"].items():
        x, y, _ = place["position"]
        labels.append((name, np.array([x, y, place["top"] + 0.04])))
    return labels


class FrameArtist:
    """Draws the overlay onto camera images: names above objects and places, the story below."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self.font = ImageFont.load_default(size=FONT_SIZE)
        label_font = ImageFont.load_default(size=FONT_SIZE - 2)
        self.label_style = {"font": label_font, "fill": (20, 20, 20), "stroke_width": 2, "stroke_fill": (255, 255, 255)}
        self.wrap = int(size[0] / (self.font.getlength("x" * 20) / 20)) - 2

    def draw(self, scene: np.ndarray, overlay: Overlay, labels: list[tuple[str, np.ndarray]]) -> np.ndarray:
        width, height = self.size
        # Video encoders want sides divisible by 16.
        full = math.ceil((height + PANEL_LINES * LINE_HEIGHT + 8) / 16) * 16
        canvas = Image.new("RGB", (width, full), (250, 250, 245))
        canvas.paste(Image.fromarray(scene))
        pen = ImageDraw.Draw(canvas)
        if labels:
            pixels = project(np.array([point for _, point in labels]), self.size)
            for (name, _), (x, y) in zip(labels, pixels, strict=True):
                if np.isfinite(x) and np.isfinite(y):
                    pen.text((x, y), name, anchor="ms", **self.label_style)
        for i, line in enumerate(overlay.lines(self.wrap, PANEL_LINES)):
            pen.text((6, height + 4 + i * LINE_HEIGHT), line, font=self.font, fill=(10, 10, 60))
        return np.asarray(canvas)


class Watch(EpisodeObserver):
    """Shows one episode after another: text and end-of-episode pause in the GUI ("human" env), and
    with `record_dir` one video per episode from the env's "rgb_array" frames.

    Frames: one at reset, one after every FRAME_EVERY-th env step, then HOLD_FRAMES copies of the
    last with the final text, so a video has 1 + steps // FRAME_EVERY + HOLD_FRAMES frames.
    """

    def __init__(self, env: gymnasium.Env, record_dir: Path | None = None) -> None:
        self.env = env.unwrapped
        self.gui = self.env.render_mode == "human"
        if record_dir is not None and self.env.render_mode != "rgb_array":
            raise ValueError("recording needs the env's render_mode='rgb_array'")
        self.record_dir = record_dir
        self.suffix = ".mp4" if ffmpeg_available() else ".gif"
        self.overlay = Overlay()
        self.artist = FrameArtist(self.env.image_size) if record_dir is not None else None
        self.video: VideoWriter | None = None
        self.written: list[Path] = []
        self.watched_env = WatchedEnv(self.env, self)
        self._steps = 0
        self._scene: np.ndarray | None = None
        self._labels: list[tuple[str, np.ndarray]] = []

    def on_episode(self, name: str) -> None:
        self._close_video()
        self.overlay = Overlay()
        self._steps = 0
        self._scene = None
        if self.record_dir is not None:
            path = self.record_dir / name
            if path.suffix not in VIDEO_SUFFIXES:
                path = self.record_dir / f"{name}{self.suffix}"
            self.video = VideoWriter(path, self.env.metadata["render_fps"] / FRAME_EVERY)

    def on_user(self, user: str) -> None:
        self._tell(user=user)

    def on_task(self, task: str) -> None:
        self._tell(task=task)

    def on_question(self, question: str) -> None:
        self._tell(question=question)

    def on_answer(self, answer: str | None) -> None:
        self._tell(answer=answer or "(no answer)")

    def on_target(self, target: Target) -> None:
        self._tell(target=describe_target(target))

    def on_outcome(self, outcome: Outcome) -> None:
        self._tell(outcome=describe_outcome(outcome))

    def on_feedback(self, feedback: str | None) -> None:
        self._tell(feedback=feedback or "(none)")

    def on_end(self) -> None:
        if self.video is not None and self._scene is not None:
            final = self.artist.draw(self._scene, self.overlay, self._labels)
            for _ in range(HOLD_FRAMES):
                self.video.append(final)
        self._close_video()
        if self.gui:
            time.sleep(HOLD_SECONDS / self.env.speed)

    def _tell(self, **story: str) -> None:
        """Update the overlay; the GUI shows it at once, a video with the next frame."""
        for field, text in story.items():
            setattr(self.overlay, field, text)
        if self.gui:
            self.env.driver.show_text(self.overlay.lines(90, 12))

    def on_reset(self, target: Target, obs: dict, info: dict) -> None:
        """The scene is laid out and the robot is about to go for `target`: the first frame."""
        self.on_target(target)
        self._steps = 0
        self._capture(obs, info)

    def on_step(self, obs: dict, info: dict) -> None:
        self._steps += 1
        if self._steps % FRAME_EVERY == 0:
            self._capture(obs, info)

    def _capture(self, obs: dict, info: dict) -> None:
        if self.video is None:
            return
        self._scene = self.env.render()
        self._labels = scene_labels(obs, info)
        self.video.append(self.artist.draw(self._scene, self.overlay, self._labels))

    def _close_video(self) -> None:
        if self.video is not None:
            self.video.close()
            self.written.append(self.video.path)
            log.info("wrote %s (%d frames)", self.video.path, self.video.frames)
            self.video = None

    def close(self) -> None:
        self._close_video()


class WatchedEnv(gymnasium.Wrapper):
    """Hands every env step to a Watch, so the controller drives a watched env unawares."""

    def __init__(self, env: gymnasium.Env, watch: Watch) -> None:
        super().__init__(env)
        self.watch = watch

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.watch.on_step(obs, info)
        return obs, reward, terminated, truncated, info
