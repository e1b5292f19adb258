"""Where the course lives on GitHub, and every link built from it: Binder, Colab, the Colab install cell.

The GitHub path ("owner/name") is written once, as `Repository` in pyproject.toml's [project.urls]. The
README's badge and links, the notebooks' Colab cell and the static site are built from it;
tests/test_links.py checks that they agree, and rejects the placeholder OWNER/REPO anywhere once the real
path is set. To publish under a new path: edit pyproject.toml, then `python -m tools.links --write`
rewrites the README's links and the notebooks' Colab cells.
"""

import argparse
import json
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLACEHOLDER = "OWNER/REPO"
BRANCH = "main"
FIRST_LESSON = "notebooks/00_start_here.ipynb"
_PATH = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")

# Links to the course, each with the GitHub path as its only group (README, site, notebooks).
LINK_PATTERNS = [
    re.compile(r"mybinder\.org/v2/gh/([^/\s)]+/[^/\s)]+)/"),
    re.compile(r"colab\.research\.google\.com/github/([^/\s)]+/[^/\s)]+)/blob/"),
    re.compile(r"git\+https://github\.com/([^/\s@\"']+/[^/\s@\"']+?)(?:\.git)?@"),
]

COLAB_CELL_MARKER = "# Colab only:"
COLAB_CELL = '''# Colab only: install the course's helpers, turn on Colab's widget manager. Elsewhere: nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "git+https://github.com/{path}@{branch}"], check=True)
    from google.colab import output

    output.enable_custom_widget_manager()'''


def github_path(pyproject: Path = REPO / "pyproject.toml") -> str:
    """The course's "owner/name" on GitHub, read from pyproject.toml's [project.urls] Repository."""
    url = tomllib.loads(pyproject.read_text())["project"]["urls"]["Repository"]
    prefix = "https://github.com/"
    if not url.startswith(prefix):
        raise ValueError(f"[project.urls] Repository must start with {prefix}, got {url!r}")
    path = url[len(prefix):].rstrip("/")
    if not _PATH.match(path):
        raise ValueError(f"[project.urls] Repository must be {prefix}owner/name, got {url!r}")
    return path


def is_placeholder(path: str) -> bool:
    return path == PLACEHOLDER


def binder_url(notebook: str = FIRST_LESSON, path: str | None = None) -> str:
    """mybinder.org's link that builds environment.yml and opens `notebook` in JupyterLab."""
    return f"https://mybinder.org/v2/gh/{path or github_path()}/{BRANCH}?urlpath=lab/tree/{notebook}"


def colab_url(notebook: str = FIRST_LESSON, path: str | None = None) -> str:
    """Colab's link that opens `notebook` straight from GitHub."""
    return f"https://colab.research.google.com/github/{path or github_path()}/blob/{BRANCH}/{notebook}"


def colab_cell(path: str | None = None) -> str:
    """The first code cell of every notebook: in Colab only, installs the helpers and enables custom widgets.

    `--no-deps`: Colab keeps its own PyTorch, numpy and matplotlib (a pinned torch would pull the CUDA
    build, several GB); ipympl is not installed there, so setup_notebook() falls back to inline pictures.
    """
    return COLAB_CELL.format(path=path or github_path(), branch=BRANCH)


def paths_in(text: str) -> list[str]:
    """Every GitHub path that a course link in `text` names."""
    return [m.group(1) for pattern in LINK_PATTERNS for m in pattern.finditer(text)]


def rewrite(text: str, path: str) -> str:
    """`text` with every course link pointing at `path`."""
    for pattern in LINK_PATTERNS:
        text = pattern.sub(lambda m: m.group(0).replace(m.group(1), path), text)
    return text


def notebook_sources(notebook: Path) -> list[str]:
    return ["".join(cell["source"]) for cell in json.loads(notebook.read_text())["cells"]]


def _write(path: str) -> None:
    readme = REPO / "README.md"
    readme.write_text(rewrite(readme.read_text(), path))
    for notebook in sorted((REPO / "notebooks").glob("*.ipynb")):
        nb = json.loads(notebook.read_text())
        for cell in nb["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code" and source.startswith(COLAB_CELL_MARKER):
                cell["source"] = colab_cell(path).splitlines(keepends=True)
        notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true",
                        help="point the README's links and the notebooks' Colab cells at pyproject.toml's path")
    parser.add_argument("--colab-cell", action="store_true", help="print the notebooks' first (Colab) cell")
    args = parser.parse_args()
    path = github_path()
    if args.colab_cell:
        print(colab_cell(path))
        return
    if args.write:
        _write(path)
    print(path + (" (the placeholder: set [project.urls] Repository in pyproject.toml)" if is_placeholder(path)
                  else ""))


if __name__ == "__main__":
    main()
