"""RemoteDriver: a RobotDriver whose every call runs on a `pahf-robot serve-driver` process over TCP.

The env cannot tell it from a local driver: same calls, same plain-data answers (floats are sent in
their exact repr, so a remote episode replays a local one). The server checks each command against its
safety limits; a refused one raises `DriverError` here and the robot does not move. While the caller is
busy elsewhere (a planner thinking between episodes) a background heartbeat keeps the session alive,
so only a dead or hung process trips the server's idle timeout.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from envs import wire
from envs.driver import Pose, RobotDriver

log = logging.getLogger(__name__)


class RemoteDriver(RobotDriver):
    """Connect to a driver server at host:port; ConnectionError (naming host:port) if none answers.

    Args:
        timeout: seconds to wait for the connection and for each answer.
        token: the shared token of a server that asks for one (default: $PAHF_DRIVER_TOKEN_FILE's content,
            else $PAHF_DRIVER_TOKEN); it never travels, only an HMAC of the server's challenge does.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 8765, timeout: float = 30.0, token: str | None = None
    ) -> None:
        self.host, self.port = host, port
        self._where = f"{host}:{port}"
        self._lock = threading.Lock()
        self._buffer = wire.LineBuffer()
        self._lines: list[bytes] = []
        self._next_id = 0
        self._closed = False
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise ConnectionError(
                f"no robot driver server at {self._where} ({exc.strerror or exc}); start one with "
                f"`pahf-robot serve-driver --host {host} --port {port}`"
            ) from None
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._sock.sendall(wire.encode(wire.hello()))
            greeting = self._read_frame()
            if "error" in greeting:
                wire.parse_response(greeting, -1)
            wire.check_hello(greeting)
            if "challenge" in greeting:
                greeting = {**greeting, **self._answer(str(greeting["challenge"]), token)}
        except (wire.DriverError, wire.ProtocolError, ConnectionError, ValueError) as exc:
            self._sock.close()
            raise ConnectionError(f"driver server at {self._where} refused the connection: {exc}") from None
        self.physics_dt = float(greeting["physics_dt"])
        self.limits: dict = greeting.get("limits", {})
        self._last_call = time.monotonic()
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(
            target=self._beat, args=(float(greeting["idle_timeout"]) / 4,), name="driver-heartbeat", daemon=True
        )
        self._heartbeat.start()

    def _answer(self, challenge: str, token: str | None) -> dict:
        """Prove we hold the server's token: send the HMAC of its challenge, return its greeting."""
        token = token if token is not None else wire.token_from_env()
        if token is None:
            raise ConnectionError(
                f"the server needs a token; set ${wire.TOKEN_ENV} or ${wire.TOKEN_FILE_ENV} to the server's"
            )
        self._sock.sendall(wire.encode({"auth": wire.sign(token, challenge)}))
        answer = self._read_frame()
        if "error" in answer:
            wire.parse_response(answer, -1)
        return answer

    # --- transport ---
    def _read_frame(self) -> dict:
        while not self._lines:
            try:
                data = self._sock.recv(1 << 16)
            except TimeoutError:
                raise ConnectionError(f"driver server at {self._where} did not answer in time") from None
            except OSError as exc:
                raise ConnectionError(f"lost the driver server at {self._where}: {exc}") from None
            if not data:
                raise ConnectionError(f"driver server at {self._where} closed the connection")
            self._lines.extend(self._buffer.feed(data))
        return wire.decode(self._lines.pop(0))

    def call(self, method: str, **params: Any) -> Any:
        """One request and its answer; DriverError if the server refused or failed it."""
        with self._lock:
            if self._closed:
                raise ConnectionError(f"the connection to {self._where} is closed")
            self._next_id += 1
            request_id = self._next_id
            try:
                self._sock.sendall(wire.encode(wire.request(request_id, method, params)))
            except OSError as exc:
                raise ConnectionError(f"lost the driver server at {self._where}: {exc}") from None
            frame = self._read_frame()
            self._last_call = time.monotonic()
        return wire.parse_response(frame, request_id)

    def _beat(self, interval: float) -> None:
        """Ping when no call has gone out for `interval` seconds; ends with the connection."""
        while not self._stop.wait(interval):
            if time.monotonic() - self._last_call < interval:
                continue
            try:
                self.call("ping")
            except (ConnectionError, wire.DriverError, wire.ProtocolError) as exc:
                log.debug("heartbeat to %s stopped: %s", self._where, exc)
                return

    # --- robot ---
    def reset_robot(self) -> None:
        self.call("reset_robot")

    def apply_action(self, position: Sequence[float], yaw: float, gripper_width: float) -> None:
        self.call(
            "apply_action", position=[float(v) for v in position], yaw=float(yaw), gripper_width=float(gripper_width)
        )

    def step(self, n: int = 1) -> None:
        self.call("step", n=int(n))

    def joint_positions(self) -> list[float]:
        return self.call("joint_positions")

    def joint_limits(self) -> tuple[list[float], list[float]]:
        lower, upper = self.call("joint_limits")
        return lower, upper

    def gripper_width(self) -> float:
        return self.call("gripper_width")

    def ee_pose(self) -> Pose:
        position, orientation = self.call("ee_pose")
        return position, orientation

    # --- scene ---
    def spawn_object(self, kind, position, yaw, rgba, label, scale=1.0, mass_factor=1.0, friction=None) -> int:
        return self.call(
            "spawn_object",
            kind=kind,
            position=[float(v) for v in position],
            yaw=float(yaw),
            rgba=[float(v) for v in rgba],
            label=label,
            scale=float(scale),
            mass_factor=float(mass_factor),
            friction=None if friction is None else float(friction),
        )

    def spawn_fixture(self, parts: Sequence[dict], position: Sequence[float], rgba: Sequence[float], label: str) -> int:
        boxes = [
            {"half_extents": [float(v) for v in p["half_extents"]], "offset": [float(v) for v in p["offset"]]}
            for p in parts
        ]
        return self.call(
            "spawn_fixture",
            parts=boxes,
            position=[float(v) for v in position],
            rgba=[float(v) for v in rgba],
            label=label,
        )

    def remove_body(self, handle: int) -> None:
        self.call("remove_body", handle=int(handle))

    def body_poses(self, handles: Sequence[int]) -> list[Pose]:
        return [
            (position, orientation)
            for position, orientation in self.call("body_poses", handles=[int(h) for h in handles])
        ]

    def body_speeds(self, handles: Sequence[int]) -> list[float]:
        return self.call("body_speeds", handles=[int(h) for h in handles])

    def touches_robot(self, handle: int) -> bool:
        return self.call("touches_robot", handle=int(handle))

    def body_count(self) -> int:
        return self.call("body_count")

    # --- sensing and lifecycle ---
    def camera_image(
        self,
        width: int,
        height: int,
        eye: Sequence[float],
        target: Sequence[float],
        fov: float = 60.0,
        segmentation: bool = False,
    ) -> dict[str, np.ndarray]:
        return self.call(
            "camera_image",
            width=int(width),
            height=int(height),
            eye=[float(v) for v in eye],
            target=[float(v) for v in target],
            fov=float(fov),
            segmentation=bool(segmentation),
        )

    def show_text(self, lines: Sequence[str]) -> None:
        self.call("show_text", lines=[str(line) for line in lines])

    def close(self) -> None:
        """Say goodbye (the server holds the arm and clears this client's bodies) and disconnect."""
        if self._closed:
            return
        self._stop.set()
        try:
            self.call("close")
        except (ConnectionError, wire.DriverError, wire.ProtocolError) as exc:
            log.debug("goodbye to %s not acknowledged: %s", self._where, exc)
        with self._lock:
            self._closed = True
            self._sock.close()
