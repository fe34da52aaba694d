"""A private PulseAudio server with one null sink, so tests can play sound through a real Qt
audio sink on machines without a sound card (CI, servers). The null sink consumes samples in
real time, as a sound card does, so a sink's processed time advances as it would on one."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time


class NullSinkServer:
    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="kinora-pulse-")
        self.socket = os.path.join(self.folder, "native")
        self.process: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("pulseaudio") is not None

    def start(self) -> str | None:
        """The PULSE_SERVER address to use, or None when the server did not come up."""
        env = {**os.environ, "HOME": self.folder, "XDG_RUNTIME_DIR": self.folder, "XDG_CONFIG_HOME": self.folder}
        env.pop("PULSE_SERVER", None)
        self.process = subprocess.Popen(
            ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
             "--disable-shm=yes", "--log-target=stderr",
             "-L", "module-null-sink sink_name=kinora_test",
             "-L", f"module-native-protocol-unix auth-anonymous=1 socket={self.socket}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.process.poll() is None:
            if os.path.exists(self.socket):
                return f"unix:{self.socket}"
            time.sleep(0.05)
        self.stop()
        return None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)
