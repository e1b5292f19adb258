"""helpers: the small package the course notebooks import.

One module per concern, each short enough to read in one sitting:

- `data`     seeded toy data sets, train/validation split, standardization
- `init`     initialization schemes written from their formulas
- `models`   an MLP builder
- `probes`   per-layer activation and gradient statistics
- `train`    a small training loop that records a `History` and survives divergence
- `plots`    the course palette and plot helpers shared by every lesson
- `widgets`  the live slider panel every lesson uses
- `quiz`     self-check questions with instant feedback

Lessons add a module of their own for what only they need.
"""

from helpers import data, init, models, plots, probes, quiz, train, widgets
from helpers.setup import setup_notebook

__all__ = ["data", "init", "models", "plots", "probes", "quiz", "train", "widgets", "setup_notebook"]
