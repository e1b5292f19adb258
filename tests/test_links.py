"""The GitHub path is written once (pyproject.toml's [project.urls] Repository); every Binder and Colab link,
and the notebooks' Colab cell, are built from it. Once the real path is set, the placeholder OWNER/REPO must be
gone from everything a learner reads."""

import json
from pathlib import Path

import pytest

from tools import links

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
READ_BY_LEARNERS = [REPO / "README.md", REPO / "environment.yml", *sorted((REPO / "docs").rglob("*.md")), *NOTEBOOKS]


def leftover_placeholders(path: str, files: list[Path]) -> list[str]:
    """Files that still name the placeholder once `path` is the real one (none while it is the placeholder)."""
    if links.is_placeholder(path):
        return []
    return [str(f.relative_to(f.parents[1])) for f in files if links.PLACEHOLDER in f.read_text()]


def test_the_path_is_owner_slash_name():
    path = links.github_path()
    owner, name = path.split("/")
    assert owner and name


def test_readme_links_all_name_the_one_path_and_open_the_first_lesson():
    readme = (REPO / "README.md").read_text()
    path = links.github_path()
    assert set(links.paths_in(readme)) == {path}
    assert f"[![Binder](https://mybinder.org/badge_logo.svg)]({links.binder_url()})" in readme
    assert links.colab_url() in readme


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebooks_colab_cell_is_the_course_one(notebook):
    colab_cells = [s for s in links.notebook_sources(notebook) if s.startswith(links.COLAB_CELL_MARKER)]
    assert colab_cells in ([], [links.colab_cell()])
    assert set(links.paths_in("\n".join(links.notebook_sources(notebook)))) <= {links.github_path()}


def test_the_placeholder_is_rejected_once_the_path_is_set():
    assert leftover_placeholders(links.github_path(), READ_BY_LEARNERS) == []


def test_the_placeholder_check_and_rewrite_work_on_a_real_path(tmp_path):
    readme = (REPO / "README.md").read_text()
    moved = links.rewrite(readme, "alice/deep-course")
    assert set(links.paths_in(moved)) == {"alice/deep-course"}
    (tmp_path / "docs").mkdir()
    stale, fresh = tmp_path / "docs" / "stale.md", tmp_path / "docs" / "fresh.md"
    stale.write_text(readme if links.PLACEHOLDER in readme else readme + links.PLACEHOLDER)
    fresh.write_text(moved.replace(links.PLACEHOLDER, "alice/deep-course"))
    assert leftover_placeholders("alice/deep-course", [stale, fresh]) == ["docs/stale.md"]
    assert "git+https://github.com/alice/deep-course@main" in links.colab_cell("alice/deep-course")


@pytest.mark.parametrize("url", ["https://gitlab.com/a/b", "https://github.com/only-owner", "https://github.com/a/b/c"])
def test_a_malformed_repository_url_is_refused(tmp_path, url):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f'[project]\nname = "x"\n[project.urls]\nRepository = "{url}"\n')
    with pytest.raises(ValueError, match="Repository"):
        links.github_path(pyproject)


def test_the_colab_cell_is_valid_python_that_does_nothing_outside_colab():
    source = links.colab_cell()
    compile(source, "colab cell", "exec")
    namespace = {}
    exec(source, namespace)  # outside Colab: imports sys, nothing else happens
    assert "subprocess" not in namespace and "output" not in namespace
    assert json.dumps(source)  # storable in a notebook
