"""The driver wire protocol: `RobotDriver` calls as JSON lines over TCP, encoded and checked in one place.

One frame is one JSON object on one line (UTF-8, `\\n`-terminated). The client opens with a hello,
the server answers with its own (or an error, then closes):

    -> {"hello": "pahf-driver", "version": 1}
    <- {"hello": "pahf-driver", "version": 1, "physics_dt": 0.004166, "idle_timeout": 5.0, "limits": {...}}

then requests and responses matched by id, one response per request, in order:

    -> {"id": 3, "method": "apply_action", "params": {"position": [0.4, 0, 0.2], "yaw": 0, "gripper_width": 0.08}}
    <- {"id": 3, "result": null}
    <- {"id": 3, "error": {"code": "unsafe_command", "message": "..."}}

Floats travel as Python's shortest round-trip repr, so a remote episode sees bit-identical numbers.
numpy arrays (camera frames) travel as {"__ndarray__": {"dtype", "shape", "data": base64}}.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import os
import secrets
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = "pahf-driver"
VERSION = 1
MAX_FRAME_BYTES = 8 << 20
"""Longest accepted line: a 640x480 RGB + depth frame in base64 is about 3 MB."""

PARSE_ERROR = "parse_error"
INVALID_REQUEST = "invalid_request"
UNKNOWN_METHOD = "unknown_method"
INVALID_PARAMS = "invalid_params"
UNSAFE_COMMAND = "unsafe_command"
DRIVER_ERROR = "driver_error"
INTERNAL_ERROR = "internal_error"
HANDSHAKE = "handshake"
BUSY = "busy"
FRAME_TOO_LARGE = "frame_too_large"
UNAUTHORIZED = "unauthorized"

TOKEN_ENV = "PAHF_DRIVER_TOKEN"
TOKEN_FILE_ENV = "PAHF_DRIVER_TOKEN_FILE"
MIN_TOKEN_CHARS = 16
AUTH_SCHEME = "hmac-sha256"


class ProtocolError(Exception):
    """A frame that breaks the protocol; `code` is one of the error codes above."""

    def __init__(self, code: str, message: str, request_id: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


class DriverError(RuntimeError):
    """The server refused or failed a call (`code` says why); the connection is still usable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


ARRAY_KEY = "__ndarray__"


def _special(value: Any) -> Any:
    """What json cannot write itself: numpy arrays (as base64) and numpy scalars."""
    if isinstance(value, np.ndarray):
        data = base64.b64encode(np.ascontiguousarray(value).tobytes()).decode("ascii")
        return {ARRAY_KEY: {"dtype": value.dtype.str, "shape": list(value.shape), "data": data}}
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a {type(value).__name__} cannot be sent over the driver wire")


def _array(obj: dict) -> Any:
    if len(obj) == 1 and ARRAY_KEY in obj:
        spec = obj[ARRAY_KEY]
        raw = base64.b64decode(spec["data"], validate=True)
        return np.frombuffer(raw, dtype=np.dtype(spec["dtype"])).reshape(spec["shape"]).copy()
    return obj


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_special)
"""json's C encoder with the numpy hook; NaN and inf go out as is so the server, not the client, rejects them."""


def encode(frame: dict) -> bytes:
    """One frame as a line."""
    return _ENCODER.encode(frame).encode() + b"\n"


def decode(line: bytes) -> dict:
    """Parse one line into a frame (ProtocolError(parse_error) for anything but a JSON object)."""
    try:
        text = line.decode("utf-8")
        # The array hook runs on every object, so only lines that carry an array pay for it.
        frame = json.loads(text, object_hook=_array) if ARRAY_KEY in text else json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(PARSE_ERROR, f"not a JSON line: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(PARSE_ERROR, f"bad array encoding: {exc}") from None
    if not isinstance(frame, dict):
        raise ProtocolError(PARSE_ERROR, f"a frame must be a JSON object, got {type(frame).__name__}")
    return frame


def hello() -> dict:
    return {"hello": MAGIC, "version": VERSION}


def check_hello(frame: dict) -> None:
    """Accept a peer's hello frame or raise ProtocolError(handshake)."""
    if frame.get("hello") != MAGIC:
        raise ProtocolError(
            HANDSHAKE, f'expected {{"hello": "{MAGIC}", "version": {VERSION}}} first, got {frame!r:.200}'
        )
    if frame.get("version") != VERSION:
        raise ProtocolError(
            HANDSHAKE, f"protocol version {frame.get('version')!r} is not supported (this side speaks {VERSION})"
        )


def token_from_env(token_file: str | None = None) -> str | None:
    """The shared driver token: `token_file`, else $PAHF_DRIVER_TOKEN_FILE, else $PAHF_DRIVER_TOKEN; None if
    none is set. Never a command-line value (it would show in `ps`). ValueError (one line) for a token file
    that cannot be read or a token shorter than MIN_TOKEN_CHARS."""
    path = token_file or os.environ.get(TOKEN_FILE_ENV)
    if path:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise ValueError(f"{path}: cannot read the driver token ({why})") from None
        where = path
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
        where = f"${TOKEN_ENV}"
        if not token:
            return None
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"{where}: the driver token has {len(token)} characters; use at least {MIN_TOKEN_CHARS}")
    return token


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server on this machine."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_challenge() -> str:
    return secrets.token_hex(32)


def sign(token: str, challenge: str) -> str:
    """The answer to a server's challenge: HMAC-SHA256 of the challenge under the shared token, in hex."""
    return hmac.new(token.encode(), f"{MAGIC}/{VERSION}/{challenge}".encode(), hashlib.sha256).hexdigest()


def check_auth(frame: dict, token: str, challenge: str) -> None:
    """Accept the client's answer to `challenge` or raise ProtocolError(unauthorized)."""
    answer = frame.get("auth")
    if not isinstance(answer, str):
        raise ProtocolError(
            UNAUTHORIZED,
            f'this server needs a token: answer the challenge with {{"auth": HMAC}} (set ${TOKEN_ENV} on the client)',
        )
    if not hmac.compare_digest(answer.encode(), sign(token, challenge).encode()):
        raise ProtocolError(UNAUTHORIZED, "wrong token: the answer to the challenge does not match")


def request(request_id: int, method: str, params: dict) -> dict:
    return {"id": request_id, "method": method, "params": params}


def parse_request(frame: dict) -> tuple[int, str, dict]:
    """(id, method, params) of a request frame, or ProtocolError(invalid_request) naming what is wrong."""
    request_id = frame.get("id")
    if not isinstance(request_id, int) or isinstance(request_id, bool):
        raise ProtocolError(INVALID_REQUEST, f"'id' must be an integer, got {request_id!r:.50}")
    method = frame.get("method")
    if not isinstance(method, str):
        raise ProtocolError(INVALID_REQUEST, f"'method' must be a string, got {method!r:.50}", request_id)
    params = frame.get("params", {})
    if not isinstance(params, dict):
        raise ProtocolError(INVALID_REQUEST, f"'params' must be an object, got {type(params).__name__}", request_id)
    return request_id, method, params


def result(request_id: int, value: Any) -> dict:
    return {"id": request_id, "result": value}


def error(request_id: int | None, code: str, message: str) -> dict:
    return {"id": request_id, "error": {"code": code, "message": message}}


def parse_response(frame: dict, request_id: int) -> Any:
    """The result of the response to `request_id`; DriverError for an error response."""
    if "error" in frame:
        body = frame["error"] if isinstance(frame["error"], dict) else {}
        raise DriverError(str(body.get("code", "unknown")), str(body.get("message", frame["error"])))
    if frame.get("id") != request_id or "result" not in frame:
        raise ProtocolError(INVALID_REQUEST, f"expected the response to request {request_id}, got {frame!r:.200}")
    return frame["result"]


class LineBuffer:
    """Bytes in, complete lines out; a line longer than `limit` is a ProtocolError(frame_too_large)."""

    def __init__(self, limit: int = MAX_FRAME_BYTES) -> None:
        self._pending = bytearray()
        self._limit = limit

    def feed(self, data: bytes) -> list[bytes]:
        self._pending += data
        lines: list[bytearray] = []
        if b"\n" in data:  # only then split: a long frame arrives in many chunks
            *lines, rest = self._pending.split(b"\n")
            self._pending = bytearray(rest)
        if len(self._pending) > self._limit or any(len(line) > self._limit for line in lines):
            raise ProtocolError(FRAME_TOO_LARGE, f"a frame is longer than {self._limit} bytes")
        return [bytes(line) for line in lines if line.strip()]
