"""While nbval runs the notebooks, keep what each code cell printed, so the quoted-number check
(tests/test_quoted_numbers.py) can compare the lessons' text with it without running them again.

    NB_OUTPUTS_DIR=.nb-outputs/native pytest --nbval-lax notebooks   ->  .nb-outputs/native/<notebook>.json

Nothing is written unless NB_OUTPUTS_DIR is set. The Makefile runs nbval once per numeric path.
"""

import json
import os
from pathlib import Path

_collected: dict[str, dict[int, dict]] = {}


def pytest_runtest_teardown(item):
    outputs = getattr(item, "test_outputs", None)
    if outputs is None or not os.environ.get("NB_OUTPUTS_DIR"):
        return
    cells = _collected.setdefault(Path(str(item.fspath)).stem, {})
    cells[item.cell_num] = {"source": item.cell.source,
                            "outputs": [json.loads(json.dumps(dict(out), default=str)) for out in outputs]}


def pytest_sessionfinish(session):
    target = os.environ.get("NB_OUTPUTS_DIR")
    if not target or not _collected:
        return
    Path(target).mkdir(parents=True, exist_ok=True)
    for stem, cells in _collected.items():
        ordered = [cells[i] for i in sorted(cells)]
        complete = sorted(cells) == list(range(len(cells)))
        (Path(target) / f"{stem}.json").write_text(json.dumps({"complete": complete, "cells": ordered}))
