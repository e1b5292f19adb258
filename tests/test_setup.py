"""setup_notebook picks the plot backend: live ipympl where it is installed, inline pictures where it is not."""

import sys
import types

import pytest

from helpers import setup


class _Shell:
    """Records the line magics it is asked to run."""

    def __init__(self):
        self.magics = []

    def run_line_magic(self, name, line):
        self.magics.append((name, line))


@pytest.fixture
def shell(monkeypatch):
    fake = _Shell()
    monkeypatch.setattr("IPython.get_ipython", lambda: fake)
    return fake


def test_live_backend_where_ipympl_imports(shell, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipympl", types.ModuleType("ipympl"))  # importable, without its side effects
    assert setup.select_backend() == "widget"
    assert shell.magics == [("matplotlib", "widget")] and capsys.readouterr().out == ""


def test_inline_backend_and_one_line_message_where_ipympl_cannot_be_imported(shell, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipympl", None)  # `import ipympl` raises ImportError, as in Colab
    assert setup.select_backend() == "inline"
    out = capsys.readouterr().out
    assert shell.magics == [("matplotlib", "inline")]
    assert out.count("\n") == 1 and "ipympl" in out and "pip install ipympl==" in out


def test_outside_ipython_the_backend_is_left_alone(monkeypatch):
    monkeypatch.setattr("IPython.get_ipython", lambda: None)
    assert setup.select_backend() == "unchanged"


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_setup_notebook_rejects_bad_thread_counts(threads):
    with pytest.raises(ValueError, match="threads"):
        setup.setup_notebook(threads)
