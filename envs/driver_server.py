"""Serve any RobotDriver over TCP (see envs/wire.py), one client at a time, with the safety a real arm needs.

The server stands next to the robot, so it serves the driver behind `envs.safety.SafeDriver`: every
motion command is checked against `SafetyLimits` (finite numbers, workspace box, largest step from the
current pose, gripper range, ticks per call) and a bad one is refused with an error and no motion; the
parameters of every call are checked for type and shape here first. When a
client leaves, dies or goes silent for `idle_timeout` seconds, the arm is commanded to hold where it
is, the bodies that client spawned are removed (the next client finds an empty world, as a freshly
built driver would), and the server goes back to accepting. A broken frame never takes the server down.

Single-threaded on `selectors`: the driver is only ever touched from one thread, which PyBullet needs.
"""

from __future__ import annotations

import inspect
import logging
import math
import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from envs import wire
from envs.driver import RobotDriver
from envs.safety import SafeDriver, SafetyLimits, UnsafeCommand

log = logging.getLogger(__name__)

DRIVER_METHODS = {
    name
    for name, _ in inspect.getmembers(RobotDriver, inspect.isfunction)
    if not name.startswith("_") and name != "close"
}
"""Calls a client may make on the driver: the whole interface except `close` (the server owns the driver)."""
_SIGNATURES = {name: inspect.signature(getattr(RobotDriver, name)) for name in DRIVER_METHODS}
MAX_FIXTURE_PARTS = 64
MAX_TEXT_LINES = 64
_POLL_SECONDS = 0.25
_SEND_TIMEOUT = 10.0


def _unsafe(message: str) -> wire.ProtocolError:
    return wire.ProtocolError(wire.UNSAFE_COMMAND, message)


def _invalid(message: str) -> wire.ProtocolError:
    return wire.ProtocolError(wire.INVALID_PARAMS, message)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(f"{name} must be a number, got {value!r:.50}")
    if not math.isfinite(value):
        raise _unsafe(f"{name} is not finite: {value}")
    return float(value)


def _vector(name: str, value: Any, size: int) -> list[float]:
    if not isinstance(value, list) or len(value) != size:
        raise _invalid(f"{name} must be a list of {size} numbers, got {value!r:.80}")
    return [_number(f"{name}[{i}]", v) for i, v in enumerate(value)]


def _integer(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"{name} must be an integer, got {value!r:.50}")
    if not low <= value <= high:
        raise _invalid(f"{name}={value} is outside [{low}, {high}]")
    return value


def _all_finite(name: str, value: Any) -> None:
    """NaN/inf anywhere in the parameters (spawn poses, colours, ...) is refused, whatever the call."""
    if isinstance(value, float) and not math.isfinite(value):
        raise _unsafe(f"{name} holds a non-finite number: {value}")
    if isinstance(value, list):
        for item in value:
            _all_finite(name, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _all_finite(f"{name}.{key}", item)


class SafetyGuard:
    """Checks one client's calls for types, shapes and body ownership before they reach the driver."""

    def __init__(self, limits: SafetyLimits) -> None:
        self.limits = limits
        self.spawned: set[int] = set()

    def check(self, method: str, params: dict) -> None:
        """Raise ProtocolError(invalid_params | unsafe_command) for a call that must not reach the driver."""
        try:
            _SIGNATURES[method].bind(None, **params)
        except TypeError as exc:
            raise _invalid(f"{method}: {exc}") from None
        for name, value in params.items():
            _all_finite(name, value)
        check = getattr(self, f"_check_{method}", None)
        if check is not None:
            check(**params)

    def _check_apply_action(self, position: Any, yaw: Any, gripper_width: Any) -> None:
        _vector("position", position, 3)
        _number("yaw", yaw)
        _number("gripper_width", gripper_width)

    def _check_step(self, n: Any = 1) -> None:
        if isinstance(n, bool) or not isinstance(n, int):
            raise _invalid(f"n must be an integer, got {n!r:.50}")

    def _check_camera_image(
        self, width: Any, height: Any, eye: Any, target: Any, fov: Any = 60.0, segmentation: Any = False
    ) -> None:
        _integer("width", width, 1, self.limits.max_image_side)
        _integer("height", height, 1, self.limits.max_image_side)
        _vector("eye", eye, 3)
        _vector("target", target, 3)
        if not 1.0 <= _number("fov", fov) <= 170.0:
            raise _invalid(f"fov={fov} is outside [1, 170] degrees")
        if not isinstance(segmentation, bool):
            raise _invalid(f"segmentation must be true or false, got {segmentation!r:.20}")

    def _check_show_text(self, lines: Any) -> None:
        if not isinstance(lines, list) or len(lines) > MAX_TEXT_LINES or not all(isinstance(t, str) for t in lines):
            raise _invalid(f"lines must be a list of at most {MAX_TEXT_LINES} strings")

    def _check_spawn_object(self, kind: Any, position: Any, yaw: Any, rgba: Any, label: Any) -> None:
        if not isinstance(kind, str) or not isinstance(label, str):
            raise _invalid("kind and label must be strings")
        _vector("position", position, 3)
        _number("yaw", yaw)
        _vector("rgba", rgba, 4)

    def _check_spawn_fixture(self, parts: Any, position: Any, rgba: Any, label: Any) -> None:
        if not isinstance(parts, list) or not 1 <= len(parts) <= MAX_FIXTURE_PARTS:
            raise _invalid(f"parts must be a list of 1 to {MAX_FIXTURE_PARTS} boxes")
        for i, part in enumerate(parts):
            if not isinstance(part, dict) or set(part) != {"half_extents", "offset"}:
                raise _invalid(f"parts[{i}] must be {{'half_extents': [x, y, z], 'offset': [x, y, z]}}")
            if min(_vector(f"parts[{i}].half_extents", part["half_extents"], 3)) <= 0:
                raise _invalid(f"parts[{i}].half_extents must be positive")
            _vector(f"parts[{i}].offset", part["offset"], 3)
        _vector("position", position, 3)
        _vector("rgba", rgba, 4)
        if not isinstance(label, str):
            raise _invalid("label must be a string")

    def _check_remove_body(self, handle: Any) -> None:
        self._handles([handle])

    def _check_body_poses(self, handles: Any) -> None:
        self._handles(handles)

    def _check_body_speeds(self, handles: Any) -> None:
        self._handles(handles)

    def _check_touches_robot(self, handle: Any) -> None:
        self._handles([handle])

    def _handles(self, handles: Any) -> None:
        """Clients see and touch only their own bodies: never the robot, the floor or a stale handle."""
        if not isinstance(handles, list) or any(isinstance(h, bool) or not isinstance(h, int) for h in handles):
            raise _invalid(f"handles must be a list of integers, got {handles!r:.80}")
        if any(h not in self.spawned for h in handles):
            raise _invalid(f"unknown body handles {handles!r:.80}; this client spawned {sorted(self.spawned)}")


@dataclass
class _Session:
    sock: socket.socket
    peer: str
    guard: SafetyGuard
    buffer: wire.LineBuffer = field(default_factory=wire.LineBuffer)
    greeted: bool = False
    last_heard: float = field(default_factory=time.monotonic)
    gripper_width: float | None = None
    """The last gripper width commanded; None until the client has moved the robot."""


class DriverServer:
    """Serve the driver built by `driver_factory` on host:port (port 0 picks a free one: see `address`).

    The driver is built once, here, so a broken backend fails before anyone connects, and it is closed by
    `close`. `serve_forever` returns after `stop` (safe to call from a signal handler).
    """

    def __init__(
        self,
        driver_factory: Callable[[], RobotDriver],
        host: str = "127.0.0.1",
        port: int = 8765,
        limits: SafetyLimits | None = None,
        idle_timeout: float = 5.0,
    ) -> None:
        if idle_timeout <= 0:
            raise ValueError(f"idle_timeout must be positive, got {idle_timeout}")
        self.limits = limits or SafetyLimits()
        self.idle_timeout = idle_timeout
        self.driver = SafeDriver(driver_factory(), self.limits)
        try:
            self._listener = socket.create_server((host, port))
        except OSError as exc:
            self.driver.close()
            raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self._listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._session: _Session | None = None
        self._stopping = False
        self._closed = False

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._listener.getsockname()[:2]
        return host, port

    def stop(self) -> None:
        self._stopping = True

    def serve_forever(self) -> None:
        """Accept and serve clients until `stop`; no client error ends this loop."""
        while not self._stopping:
            for key, _ in self._selector.select(_POLL_SECONDS):
                if key.fileobj is self._listener:
                    self._accept()
                elif self._session is not None and key.fileobj is self._session.sock:
                    self._receive(self._session)
            session = self._session
            if session is not None and time.monotonic() - session.last_heard > self.idle_timeout:
                self._end(session, f"silent for more than {self.idle_timeout:g} s", lost=True)

    def close(self) -> None:
        """Hold the arm, drop the client, stop listening and release the driver; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._session is not None:
            self._end(self._session, "server shutting down", lost=False)
        self._selector.close()
        self._listener.close()
        self.driver.close()

    # --- connections ---
    def _accept(self) -> None:
        try:
            sock, peer = self._listener.accept()
        except OSError:
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(_SEND_TIMEOUT)
        where = f"{peer[0]}:{peer[1]}"
        if self._session is not None:
            log.info("refused %s: busy with %s", where, self._session.peer)
            self._send_quietly(sock, wire.error(None, wire.BUSY, f"serving {self._session.peer}; one client at a time"))
            sock.close()
            return
        log.info("client %s connected", where)
        self._session = _Session(sock, where, SafetyGuard(self.limits))
        self._selector.register(sock, selectors.EVENT_READ)

    def _receive(self, session: _Session) -> None:
        try:
            data = session.sock.recv(1 << 16)
        except OSError as exc:
            self._end(session, f"connection error: {exc}", lost=True)
            return
        if not data:
            self._end(session, "disconnected", lost=True)
            return
        session.last_heard = time.monotonic()
        try:
            lines = session.buffer.feed(data)
        except wire.ProtocolError as exc:
            self._send_quietly(session.sock, wire.error(None, exc.code, exc.message))
            self._end(session, exc.message, lost=True)
            return
        for line in lines:
            if self._session is not session:
                return
            self._handle(session, line)
        session.last_heard = time.monotonic()  # time spent serving a long `step` is not the client's silence

    def _handle(self, session: _Session, line: bytes) -> None:
        request_id = None
        try:
            frame = wire.decode(line)
            if not session.greeted:
                wire.check_hello(frame)
                session.greeted = True
                self._send(session, {**wire.hello(), **self._greeting()})
                return
            request_id, method, params = wire.parse_request(frame)
            if method == "close":
                self._send(session, wire.result(request_id, None))
                self._end(session, "said goodbye", lost=False)
                return
            self._send(session, wire.result(request_id, self._call(session, method, params)))
        except wire.ProtocolError as exc:
            request_id = exc.request_id if exc.request_id is not None else request_id
            log.info("%s: %s error: %s", session.peer, exc.code, exc.message)
            self._send(session, wire.error(request_id, exc.code, exc.message))
            if not session.greeted:
                self._end(session, "no handshake", lost=False)
        except Exception as exc:  # a bug in one request must not take the server down
            log.exception("%s: internal error", session.peer)
            self._send(session, wire.error(request_id, wire.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"))

    def _greeting(self) -> dict:
        return {
            "physics_dt": self.driver.physics_dt,
            "idle_timeout": self.idle_timeout,
            "limits": self.limits.as_dict(),
        }

    def _call(self, session: _Session, method: str, params: dict) -> Any:
        if method == "ping":
            return "pong"
        if method not in DRIVER_METHODS:
            raise wire.ProtocolError(
                wire.UNKNOWN_METHOD,
                f"unknown method {method!r:.60}; known: ping, close, " + ", ".join(sorted(DRIVER_METHODS)),
            )
        guard = session.guard
        guard.check(method, params)
        try:
            value = getattr(self.driver, method)(**params)
        except UnsafeCommand as exc:
            raise wire.ProtocolError(wire.UNSAFE_COMMAND, str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - a driver failure is the client's answer, not the server's end
            log.warning("%s: %s failed: %s", session.peer, method, exc)
            raise wire.ProtocolError(wire.DRIVER_ERROR, f"{method} failed: {type(exc).__name__}: {exc}") from None
        if method in ("spawn_object", "spawn_fixture"):
            guard.spawned.add(value)
        elif method == "remove_body":
            guard.spawned.discard(params["handle"])
        elif method == "apply_action":
            _, _, session.gripper_width = value
            return None  # the wire answers a motion command with null
        return value

    def _send(self, session: _Session, frame: dict) -> None:
        try:
            session.sock.sendall(wire.encode(frame))
        except OSError as exc:
            self._end(session, f"cannot send: {exc}", lost=True)

    @staticmethod
    def _send_quietly(sock: socket.socket, frame: dict) -> None:
        try:
            sock.sendall(wire.encode(frame))
        except OSError:
            pass

    def _end(self, session: _Session, why: str, lost: bool) -> None:
        """Stop and hold the arm, clear the client's bodies, close its socket; the next client may come."""
        if self._session is not session:
            return
        self._session = None
        self._selector.unregister(session.sock)
        session.sock.close()
        held = self._hold(session)
        for handle in sorted(session.guard.spawned):
            try:
                self.driver.remove_body(handle)
            except Exception as exc:  # noqa: BLE001 - one stuck body must not keep the next client out
                log.warning("could not remove body %d of %s: %s", handle, session.peer, exc)
        if lost and held:
            log.warning("client %s %s mid-session: robot stopped, holding its pose", session.peer, why)
        else:
            log.info("client %s %s", session.peer, why)

    def _hold(self, session: _Session) -> bool:
        """Command the pose the arm is at now and keep the grip, so the arm stops where it is, still holding."""
        if session.gripper_width is None:
            return False
        try:
            self.driver.hold(session.gripper_width)
        except Exception as exc:  # noqa: BLE001 - logged loudly; the server itself must stay up
            log.error("could not hold the arm after %s left: %s", session.peer, exc)
        return True
