"""One call at the top of every notebook: plot backend, threads, seeds, plot style."""

import torch

from helpers import plots

NO_IPYMPL_MESSAGE = ("ipympl is not available here: plots are static pictures, redrawn as a new picture on each "
                     "slider move (pip install ipympl==0.10.0 for live plots).")


def select_backend() -> str:
    """Turn on matplotlib's live ipympl backend (`%matplotlib widget`), or `inline` where ipympl cannot be imported.

    Colab, and any Jupyter without ipympl, get the inline backend and a one-line message: every figure is
    then a PNG and a live panel redraws a new PNG per move. Outside IPython (scripts, tests) nothing changes.
    Returns the backend's name: "widget", "inline" or "unchanged".
    """
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return "unchanged"
    try:
        import ipympl  # noqa: F401  (where matplotlib is loaded, importing it already selects its backend)
    except ImportError:  # ipympl missing, or installed but broken
        shell.run_line_magic("matplotlib", "inline")
        print(NO_IPYMPL_MESSAGE)
        return "inline"
    shell.run_line_magic("matplotlib", "widget")
    return "widget"


def setup_notebook(threads: int = 1) -> None:
    """Prepare a kernel for the course.

    Picks the plot backend (`select_backend`: live ipympl plots, or inline pictures where ipympl is
    missing). Small networks train faster on one thread than on two (thread start-up costs more than
    the work it shares), so the course uses one unless told otherwise. Also applies the course's plot
    style and makes PyTorch's algorithms deterministic.
    """
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    select_backend()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    plots.apply_style()
