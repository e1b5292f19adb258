"""setup_notebook picks the plot backend: live ipympl where it is installed, inline pictures where it is not."""

import pytest

from helpers import setup


class _Shell:
    """Records line magics; `%matplotlib widget` fails as IPython's does when ipympl cannot be imported."""

    def __init__(self, ipympl_importable: bool):
        self.ipympl_importable = ipympl_importable
        self.magics = []

    def run_line_magic(self, name, line):
        if (name, line) == ("matplotlib", "widget") and not self.ipympl_importable:
            raise ModuleNotFoundError("No module named 'ipympl'")
        self.magics.append((name, line))


def _install(monkeypatch, shell):
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    return shell


def test_live_backend_where_ipympl_imports(monkeypatch, capsys):
    shell = _install(monkeypatch, _Shell(ipympl_importable=True))
    assert setup.select_backend() == "widget"
    assert shell.magics == [("matplotlib", "widget")] and capsys.readouterr().out == ""


def test_inline_backend_and_one_line_message_where_ipympl_cannot_be_imported(monkeypatch, capsys):
    shell = _install(monkeypatch, _Shell(ipympl_importable=False))
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
