"""One call at the top of every notebook: threads, seeds, plot style."""

import torch

from helpers import plots


def setup_notebook(threads: int = 1) -> None:
    """Prepare a kernel for the course.

    Small networks train faster on one thread than on two (thread start-up costs more than
    the work it shares), so the course uses one unless told otherwise. Also applies the
    course's plot style and makes PyTorch's algorithms deterministic.
    """
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    plots.apply_style()
