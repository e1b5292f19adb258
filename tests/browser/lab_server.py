"""Start and stop a JupyterLab server for the browser tests and `benchmarks/trace_move.py`.

The server binds 127.0.0.1 on a free port, without a token (tests only), serves a copy of notebooks/ under `root`,
and has its own settings and workspaces (a workspace saved by another run would reopen its tabs).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LAB_SETTINGS = {
    # The "Get notified about Jupyter news?" toast would cover the page.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
    # Keep every cell in the DOM, so sliders and plots far down the notebook can be found and read.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base: str, method: str, path: str):
    """Call the Jupyter server's REST API (no token in tests)."""
    request = urllib.request.Request(base + path, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


def start_lab(root: Path) -> dict:
    """Copy notebooks/ into `root`, start JupyterLab there; returns {"base", "root", "server", "log"}.
    Raises RuntimeError with the end of the server's log if it does not answer within 60 s."""
    root = Path(root)
    if not (root / "notebooks").exists():
        shutil.copytree(REPO / "notebooks", root / "notebooks")
    settings = root / "settings"
    for name, value in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port = free_port()
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"), "TMPDIR": str(root)}
    log = open(root / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--IdentityProvider.token=", "--ServerApp.password=",
         "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={root}", "--LabApp.news_url=None"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status", timeout=2)
            return {"base": base, "root": root, "server": server, "log": log}
        except OSError as error:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                log.close()
                tail = (root / "lab.log").read_text()[-3000:]
                raise RuntimeError(f"JupyterLab did not start; its log:\n{tail}") from error
            time.sleep(0.3)


def stop_lab(lab: dict) -> None:
    """Shut down every kernel session, then the server."""
    try:
        for session in api(lab["base"], "GET", "/api/sessions"):
            api(lab["base"], "DELETE", f"/api/sessions/{session['id']}")
    except OSError:
        pass
    lab["server"].terminate()
    try:
        lab["server"].wait(timeout=20)
    except subprocess.TimeoutExpired:
        lab["server"].kill()
    lab["log"].close()
