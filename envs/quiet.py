"""Silence what C libraries print straight to file descriptors 1 and 2 (PyBullet's build-time banner).

`print` and `logging` go through Python's streams and can be redirected in Python; a C `printf` cannot, so
`silenced_c_output` points fds 1 and 2 at /dev/null for the duration of a block, flushing C's own stdio
buffers before it puts them back (with a pipe for stdout, C buffers the banner and would write it at exit).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator


def _flush_c_streams() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # no libc to ask (not Linux/macOS): nothing buffered that we can reach
        pass


@contextlib.contextmanager
def silenced_c_output() -> Iterator[None]:
    """Run the block with fds 1 and 2 on /dev/null; Python-level streams are flushed first and kept."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no fds 1/2 (a daemon): nothing to silence
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        _flush_c_streams()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)
