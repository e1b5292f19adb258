"""The install: which Python, which PyTorch wheel, and that every pin resolves on Python 3.11 to 3.14.

`make -n` shows what `make install` would run without running it. The resolution tests (marker `resolve`,
`make resolve`) ask the package index with `pip install --dry-run --python-version X --only-binary=:all:`:
only Python 3.11 is installed on CI, so the other versions are checked by resolution against the wheels the
index serves for Linux x86_64. They never ask PyTorch's CPU index (CI's machines cannot reach it).
"""

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PYTHONS = ("3.11", "3.12", "3.13", "3.14")
# A make started by `make test TORCH_INDEX=` passes its variables on through MAKEFLAGS: drop them, so each test
# sees the Makefile's own defaults plus what the test itself sets.
_MAKE_ENV = {k: v for k, v in os.environ.items()
             if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "TORCH_INDEX", "PLATFORM", "PYTHON"}}


def _make_n(*args: str) -> str:
    result = subprocess.run(["make", "-n", "-B", *args], cwd=REPO, env=_MAKE_ENV, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _pip_install_line(output: str) -> str:
    (line,) = [line for line in output.splitlines() if "pip install" in line]
    return line


def test_install_takes_pytorchs_cpu_index_on_linux_x86_64_by_default():
    assert f"--extra-index-url {CPU_INDEX}" in _pip_install_line(_make_n("install", "PLATFORM=Linux-x86_64"))
    if os.uname().sysname == "Linux" and os.uname().machine == "x86_64":  # this machine's own default
        assert CPU_INDEX in _pip_install_line(_make_n("install"))


@pytest.mark.parametrize("setting", ["TORCH_INDEX=", "PLATFORM=Darwin-arm64", "PLATFORM=Darwin-x86_64",
                                     "PLATFORM=Linux-aarch64"])
def test_install_takes_the_regular_wheel_when_the_variable_is_empty_and_off_linux_x86_64(setting):
    line = _pip_install_line(_make_n("install", setting))
    assert "download.pytorch.org" not in line and "--extra-index-url" not in line
    assert "-e '.[test]'" in line


def test_ci_sets_the_torch_index_empty():
    run = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^make test TORCH_INDEX=\s*$", run, re.M)


def test_make_lab_serves_the_repository_root_and_opens_the_first_lesson():
    (line,) = [line for line in _make_n("lab").splitlines() if "jupyter lab" in line]
    assert f"--ServerApp.root_dir={REPO}" in line and line.rstrip().endswith("notebooks/00_start_here.ipynb")
    assert "--ServerApp.ip=127.0.0.1" in line


# --- choosing the interpreter: tools/python_check.sh, with fake interpreters that only report their version

def _fake_python(directory: Path, name: str, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(0o755)
    return path


def _check(*args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = {**_MAKE_ENV, "PATH": path if path is not None else os.environ["PATH"]}
    return subprocess.run(["/bin/sh", str(REPO / "tools" / "python_check.sh"), *args], env=env,
                          capture_output=True, text=True, timeout=30)


def test_an_explicit_python_is_taken_when_supported_and_refused_in_one_line_when_too_old(tmp_path):
    good = _fake_python(tmp_path, "python3.12", "3.12")
    old = _fake_python(tmp_path, "python3.10", "3.10")
    assert _check("pick", str(good)).stdout.strip() == str(good)
    refused = _check("pick", str(old))
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "3.10" in refused.stderr and "PYTHON=python3.12" in refused.stderr


def test_without_python_set_the_first_supported_interpreter_on_path_is_picked(tmp_path):
    bin_dir = tmp_path / "bin"
    _fake_python(bin_dir, "python3", "3.10")
    _fake_python(bin_dir, "python3.12", "3.12")
    assert _check("pick", path=str(bin_dir)).stdout.strip() == "python3.12"
    (bin_dir / "python3.12").unlink()
    none = _check("pick", path=str(bin_dir))
    assert none.returncode == 1 and none.stderr.count("\n") == 1
    assert "python3: 3.10" in none.stderr and "make lab PYTHON=python3.12" in none.stderr


def test_a_venv_from_an_unsupported_or_another_python_is_refused_with_what_to_do(tmp_path):
    venv = tmp_path / "venv"
    _fake_python(venv / "bin", "python", "3.10")
    old = _check("venv", str(venv))
    assert old.returncode == 1 and "made by Python 3.10" in old.stderr and "make clean" in old.stderr
    _fake_python(venv / "bin", "python", "3.12")
    assert _check("venv", str(venv)).returncode == 0
    other = _check("venv", str(venv), str(_fake_python(tmp_path, "python3.13", "3.13")))
    assert other.returncode == 1 and other.stderr.count("\n") == 1 and "make clean first" in other.stderr
    too_old = _check("venv", str(venv), str(_fake_python(tmp_path, "python3.10", "3.10")))
    assert too_old.returncode == 1 and "is Python 3.10" in too_old.stderr and "make clean" not in too_old.stderr
    assert _check("venv", str(tmp_path / "no-venv-yet")).returncode == 0


def test_requires_python_and_the_check_name_the_same_versions():
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    low, high = re.fullmatch(r">=3\.(\d+),<3\.(\d+)", requires).groups()
    versions = tuple(f"3.{minor}" for minor in range(int(low), int(high)))
    assert versions == PYTHONS
    script = (REPO / "tools" / "python_check.sh").read_text()
    assert f'SUPPORTED="{PYTHONS[0]} to {PYTHONS[-1]}"' in script
    assert f"case \"$1\" in {'|'.join(PYTHONS)}) return 0" in script


# --- resolution on every supported Python (marker resolve): all dry runs start at once, each test waits on its own

def _pins() -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["test"]]


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("dry-runs")
    runs = {}
    for version in PYTHONS:
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
                   "--only-binary=:all:", "--python-version", version, "--target", str(directory / "target"),
                   "--report", str(directory / f"{version}.json"), *_pins()]
        assert not any("pytorch.org" in part for part in command)
        log = open(directory / f"{version}.log", "w")
        runs[version] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), directory, log)
    yield runs
    for process, _, log in runs.values():
        if process.poll() is None:
            process.kill()
        log.close()


@pytest.mark.resolve
@pytest.mark.parametrize("version", PYTHONS)
def test_every_pin_resolves_to_wheels_for(version, dry_runs):
    process, directory, log = dry_runs[version]
    returncode = process.wait(timeout=900)
    log.flush()
    output = (directory / f"{version}.log").read_text()
    errors = "\n".join(line for line in output.splitlines() if "is ignored" not in line)
    assert returncode == 0, f"pip could not resolve the pins for Python {version}:\n{errors[-3000:]}"
    report = json.loads((directory / f"{version}.json").read_text())
    resolved = {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in report["install"]}
    for pin in _pins():
        name, _, wanted = pin.partition("==")
        got = resolved.get(name.lower(), "")
        assert got.split("+")[0] == wanted, f"{pin} on Python {version}: resolved {got!r}"
    tag = f"cp{version.replace('.', '')}"
    for item in report["install"]:
        wheel = item["download_info"]["url"].rsplit("/", 1)[-1]
        assert wheel.endswith(".whl"), wheel
        python_tag, abi_tag = wheel[:-len(".whl")].split("-")[-3:-1]
        assert (tag in python_tag.split(".") or python_tag.startswith("py3") or abi_tag == "abi3"
                or "none" == abi_tag), f"{wheel} is not a wheel for Python {version}"
