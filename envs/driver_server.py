"""Serve any RobotDriver over TCP (see envs/wire.py), one client at a time, with the safety a real arm needs.

The server stands next to the robot, so it serves the driver behind `envs.safety.SafeDriver`: every
motion command is checked against `SafetyLimits` (finite numbers, workspace box, largest step from the
current pose, gripper range, ticks per call) and a bad one is refused with an error and no motion; the
parameters of every call are checked for type and shape here first. When a
client leaves, dies or goes silent for `idle_timeout` seconds, the arm is commanded to hold where it
is, the bodies that client spawned are removed (the next client finds an empty world, as a freshly
built driver would), and the server goes back to accepting. A broken frame never takes the server down.
Fixture shapes stay cached for later clients; past MAX_CACHED_SHAPES the driver is rebuilt between
clients, because PyBullet frees a shape only with its whole world.

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
MAX_BODIES = 64
"""Bodies one client may have spawned at a time (a scene has at most 8 objects and 4 places)."""
MAX_FIXTURE_SHAPES = 64
"""Distinct fixture shapes one client may ask for: the driver caches every shape it builds."""
MAX_CACHED_SHAPES = 256
"""Distinct fixture shapes the driver may hold for all clients together; when a client leaves with more
cached, the driver is rebuilt (0.2 s for PyBullet), so memory stays bounded however many clients come."""
STEP_DEADLINE_FLOOR = 10.0
"""A `step(n)` is cut short after max(this, 3 * n * physics_dt) seconds, so one call cannot freeze the server."""
_POLL_SECONDS = 0.25
_SEND_TIMEOUT = 10.0


def _unsafe(message: str) -> wire.ProtocolError:
    return wire.ProtocolError(wire.UNSAFE_COMMAND, message)


def _invalid(message: str) -> wire.ProtocolError:
    return wire.ProtocolError(wire.INVALID_PARAMS, message)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(f"{name} must be a number, got {value!r:.50}")
    try:
        number = float(value)
    except OverflowError:  # a JSON integer such as 10**400 is beyond any float
        raise _invalid(f"{name} is too large to be a number of metres or radians") from None
    if not math.isfinite(number):
        raise _unsafe(f"{name} is not finite: {value}")
    return number


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
        self.fixture_shapes: set[str] = set()

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
        line = width * height * (3 + 4 + (4 if segmentation else 0)) * 4 // 3 + 4096  # rgb, depth, ids in base64
        if line > wire.MAX_FRAME_BYTES:
            raise _invalid(
                f"a {width}x{height} frame would be a {line / 2**20:.1f} MB line, above the "
                f"{wire.MAX_FRAME_BYTES >> 20} MB limit of the wire"
            )

    def _check_show_text(self, lines: Any) -> None:
        if not isinstance(lines, list) or len(lines) > MAX_TEXT_LINES or not all(isinstance(t, str) for t in lines):
            raise _invalid(f"lines must be a list of at most {MAX_TEXT_LINES} strings")

    def _room_for_a_body(self) -> None:
        if len(self.spawned) >= MAX_BODIES:
            raise _invalid(f"this client has {len(self.spawned)} bodies, the most allowed; remove some first")

    def _check_spawn_object(
        self,
        kind: Any,
        position: Any,
        yaw: Any,
        rgba: Any,
        label: Any,
        scale: Any = 1.0,
        mass_factor: Any = 1.0,
        friction: Any = None,
    ) -> None:
        self._room_for_a_body()
        if not isinstance(kind, str) or not isinstance(label, str):
            raise _invalid("kind and label must be strings")
        _vector("position", position, 3)
        _number("yaw", yaw)
        _vector("rgba", rgba, 4)
        if not (0.5 <= _number("scale", scale) <= 2.0 and 0.1 <= _number("mass_factor", mass_factor) <= 10.0):
            raise _invalid(f"scale={scale} or mass_factor={mass_factor} is outside [0.5, 2] or [0.1, 10]")
        if friction is not None and not 0.0 <= _number("friction", friction) <= 5.0:
            raise _invalid(f"friction={friction} is outside [0, 5]")

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
        self._room_for_a_body()
        shape = repr(parts)
        if shape not in self.fixture_shapes and len(self.fixture_shapes) >= MAX_FIXTURE_SHAPES:
            raise _invalid(f"this client asked for {MAX_FIXTURE_SHAPES} distinct fixture shapes, the most allowed")
        self.fixture_shapes.add(shape)

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
    authed: bool = False
    challenge: str = ""
    last_heard: float = 0.0
    gripper_width: float | None = None
    """The last gripper width commanded; None until the client has moved the robot."""


class DriverServer:
    """Serve the driver built by `driver_factory` on host:port (port 0 picks a free one: see `address`).

    The driver is built once, here, so a broken backend fails before anyone connects, and it is closed by
    `close`. `serve_forever` returns after `stop` (safe to call from a signal handler; a long `step` checks
    for it between ticks). With a `token`, every client must answer an HMAC challenge first (`envs.wire`);
    binding anything but a loopback address without one is refused (ValueError) before the driver is built.
    `clock` (monotonic seconds) is what the idle timeout and the step deadline read, so a test can reach
    them without waiting.
    """

    def __init__(
        self,
        driver_factory: Callable[[], RobotDriver],
        host: str = "127.0.0.1",
        port: int = 8765,
        limits: SafetyLimits | None = None,
        idle_timeout: float = 5.0,
        token: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if idle_timeout <= 0:
            raise ValueError(f"idle_timeout must be positive, got {idle_timeout}")
        if token is None and not wire.is_loopback(host):
            raise ValueError(
                f"--host {host}: serving beyond this machine needs a shared token; set ${wire.TOKEN_ENV} or "
                f"${wire.TOKEN_FILE_ENV} (at least {wire.MIN_TOKEN_CHARS} characters), or serve on 127.0.0.1"
            )
        self._token = token
        self.limits = limits or SafetyLimits()
        self.idle_timeout = idle_timeout
        self._clock = clock
        self._driver_factory = driver_factory
        self.driver = SafeDriver(driver_factory(), self.limits)
        self._cached_shapes: set[str] = set()
        """Fixture shapes the clients have had this driver build (as SafetyGuard names them)."""
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
        self._broken = ""

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._listener.getsockname()[:2]
        return host, port

    def stop(self) -> None:
        self._stopping = True

    def serve_forever(self) -> None:
        """Accept and serve clients until `stop`; no client error ends this loop, only a driver that could
        not be rebuilt (OSError)."""
        while not self._stopping:
            for key, _ in self._selector.select(_POLL_SECONDS):
                if key.fileobj is self._listener:
                    self._accept()
                elif self._session is not None and key.fileobj is self._session.sock:
                    self._receive(self._session)
            session = self._session
            if session is not None and self._clock() - session.last_heard > self.idle_timeout:
                self._end(session, f"silent for more than {self.idle_timeout:g} s", lost=True)
        if self._broken:
            raise OSError(self._broken)

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
        self._session = _Session(sock, where, SafetyGuard(self.limits), last_heard=self._clock())
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
        try:
            lines = session.buffer.feed(data)
        except wire.ProtocolError as exc:
            self._send_quietly(session.sock, wire.error(None, exc.code, exc.message))
            self._end(session, exc.message, lost=True)
            return
        if lines:  # only whole frames count as being heard: a byte now and then does not keep the slot
            session.last_heard = self._clock()
        for line in lines:
            if self._session is not session:
                return
            self._handle(session, line)
        if lines:
            session.last_heard = self._clock()  # time spent serving a long `step` is not the client's silence

    def _handle(self, session: _Session, line: bytes) -> None:
        request_id = None
        try:
            frame = wire.decode(line)
            if not session.greeted:
                wire.check_hello(frame)
                session.greeted = True
                if self._token is None:
                    session.authed = True
                    self._send(session, {**wire.hello(), **self._greeting()})
                else:
                    session.challenge = wire.new_challenge()
                    challenge = {"auth": wire.AUTH_SCHEME, "challenge": session.challenge}
                    self._send(session, {**wire.hello(), **challenge})
                return
            if not session.authed:
                self._authenticate(session, frame)
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

    def _authenticate(self, session: _Session, frame: dict) -> None:
        """The client's answer to the challenge: the greeting if it holds the token, else one error line and out."""
        try:
            wire.check_auth(frame, self._token or "", session.challenge)
        except wire.ProtocolError as exc:
            log.warning("refused %s: %s", session.peer, exc.message)
            self._send(session, wire.error(None, exc.code, exc.message))
            self._end(session, "was not authorized", lost=False)
            return
        session.authed = True
        self._send(session, {"auth": "ok", **self._greeting()})

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
            value = self._step(params.get("n", 1)) if method == "step" else getattr(self.driver, method)(**params)
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

    def _step(self, n: int) -> None:
        """`step(n)` a tick at a time, so a stop (SIGTERM, Ctrl-C) or the deadline cuts it short; the arm keeps
        its last command either way."""
        if not 0 <= n <= self.limits.max_ticks:
            raise UnsafeCommand(f"n={n} is outside [0, {self.limits.max_ticks}]")
        deadline = self._clock() + max(STEP_DEADLINE_FLOOR, 3 * n * self.driver.physics_dt)
        for done in range(n):
            if self._stopping:
                raise RuntimeError(f"the server is stopping; stepped {done} of {n} ticks")
            if self._clock() > deadline:
                raise RuntimeError(f"deadline passed after {done} of {n} ticks (the world is too heavy to simulate)")
            self.driver.step(1)

    def _send(self, session: _Session, frame: dict) -> None:
        data = wire.encode(frame)
        if len(data) > wire.MAX_FRAME_BYTES:  # never send what the other side must refuse
            message = f"the answer would be a {len(data) / 2**20:.1f} MB line, above the wire's limit"
            data = wire.encode(wire.error(frame.get("id"), wire.FRAME_TOO_LARGE, message))
        try:
            session.sock.sendall(data)
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
        if lost and held == "held":
            log.warning("client %s %s mid-session: robot stopped, holding its pose", session.peer, why)
        elif held == "failed":
            log.error("client %s %s; the arm may still be moving: the hold command failed", session.peer, why)
        else:
            log.info("client %s %s", session.peer, why)
        self._cached_shapes |= session.guard.fixture_shapes
        if len(self._cached_shapes) > MAX_CACHED_SHAPES and not (self._closed or self._stopping):
            self._rebuild_driver()

    def _rebuild_driver(self) -> None:
        """Give the cached fixture shapes' memory back: PyBullet keeps a shape that any body used until its
        world is gone, so the driver is closed and built afresh, between clients. A driver that cannot be
        built again stops the server (`serve_forever` raises OSError)."""
        log.info("rebuilding the driver to free %d cached fixture shapes", len(self._cached_shapes))
        self.driver.close()
        self._cached_shapes = set()
        try:
            self.driver = SafeDriver(self._driver_factory(), self.limits)
        except Exception as exc:  # noqa: BLE001 - reported by serve_forever as one line
            self._broken = f"could not rebuild the driver: {type(exc).__name__}: {exc}"
            log.error("%s", self._broken)
            self._stopping = True

    def _hold(self, session: _Session) -> str:
        """Command the pose the arm is at now and keep the grip, so the arm stops where it is, still holding.
        Returns "held", "idle" (the client never moved the arm) or "failed" (the driver raised)."""
        if session.gripper_width is None:
            return "idle"
        try:
            self.driver.hold(session.gripper_width)
        except Exception as exc:  # noqa: BLE001 - logged loudly; the server itself must stay up
            log.error("could not hold the arm after %s left: %s", session.peer, exc)
            return "failed"
        return "held"
