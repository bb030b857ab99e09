"""A real Mosquitto for the tests: started on a free loopback port, stopped afterwards.

    with Mosquitto(tmp_path) as broker:                    # anonymous, no persistence
    with Mosquitto(tmp_path, users={"chair": "s3cret"}):   # a password file, no anonymous
    with Mosquitto(tmp_path, tls=True) as broker:          # TLS with a CA made here
        broker.ca_file

`kill()` and `start()` again on the same port simulate a broker that crashed and came back.
Nothing else is ever used: no test talks to a broker it did not start.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or ("/usr/sbin/mosquitto"
                                          if Path("/usr/sbin/mosquitto").exists() else None)
    if found is None:
        pytest.skip("mosquitto is not installed (.ci/run installs it)")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(*command: str) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signed for 127.0.0.1 and localhost."""
    ca_key, ca_cert = folder / "ca.key", folder / "ca.crt"
    key, request, cert = folder / "server.key", folder / "server.csr", folder / "server.crt"
    extensions = folder / "server.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=massagectl test CA", "-keyout", str(ca_key), "-out", str(ca_cert))
    _run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(request))
    _run("openssl", "x509", "-req", "-in", str(request), "-CA", str(ca_cert), "-CAkey",
         str(ca_key), "-CAcreateserial", "-days", "2", "-extfile", str(extensions),
         "-out", str(cert))
    return ca_cert, cert, key


class Mosquitto:
    def __init__(self, folder: Path, *, users: dict[str, str] | None = None,
                 tls: bool = False) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.ca_file: Path | None = None
        # Run as whoever runs the tests: as root, mosquitto would otherwise drop to its own user
        # and then fail to read the password file and certificates in the test's folder.
        lines = [f"user {getpass.getuser()}", f"listener {self.port} {self.host}",
                 "persistence false",
                 f"log_dest file {folder / 'mosquitto.log'}", "log_type error",
                 "log_type warning", "log_type notice"]
        if users:
            password_file = folder / "passwords"
            password_file.touch()
            for user, password in users.items():
                _run("mosquitto_passwd", "-b", str(password_file), user, password)
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines.append("allow_anonymous true")
        if tls:
            self.ca_file, cert, key = make_certificates(folder)
            lines += [f"cafile {self.ca_file}", f"certfile {cert}", f"keyfile {key}"]
        self.config = folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen([mosquitto_binary(), "-c", str(self.config)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = (self.folder / "mosquitto.log")
                raise RuntimeError(f"mosquitto exited: {log.read_text() if log.exists() else ''}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)  # bounded polling for the broker's socket
        raise RuntimeError(f"mosquitto did not listen on {self.port} in {READY_TIMEOUT_S} s")

    def kill(self) -> None:
        """As a crash: no goodbye to the clients."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(STOP_TIMEOUT_S)
            self._process = None

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
            self._process = None

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
