"""No number in a lesson's text that its notebook does not print (on every numeric path), unless it is declared as
theory, literature, a setting or a range a named test checks. See tests/quoted_numbers.py for the rules.

Reads the outputs that nbval saved while it ran the notebooks (`make nbval`, one run per numeric path, into
.nb-outputs/<path>/); `make quoted` runs this file. Without saved outputs it fails and says what to run.
"""

import json
import os
from pathlib import Path

import pytest

from tests import quoted_numbers as qn

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
OUTPUTS = Path(os.environ.get("NB_OUTPUTS_ROOT", REPO / ".nb-outputs"))
PATHS = ("native", "avx2", "default")

pytestmark = pytest.mark.quoted


def _code_sources(notebook):
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_quoted_number_is_printed_or_declared(path):
    notebook = json.loads(path.read_text())
    if not OUTPUTS.is_dir():
        pytest.fail(f"no saved outputs in {OUTPUTS}: run `make nbval` first (it runs every notebook on each path)")
    outputs = qn.load_outputs(OUTPUTS, path.name)
    assert set(outputs) >= set(PATHS), f"{path.name}: outputs saved for {sorted(outputs)}, need {PATHS}"
    for name in PATHS:
        saved = json.loads((OUTPUTS / name / f"{path.stem}.json").read_text())
        assert [c["source"] for c in saved["cells"]] == _code_sources(notebook), \
            f"{path.name}: the outputs saved for {name} come from an older version of the notebook; run `make nbval`"
    declared = qn.load_declarations(path.name)
    problems, used = qn.unchecked_numbers(notebook, {name: outputs[name] for name in PATHS}, declared)
    stale = [d.quote for d in declared if d.quote not in used]
    missing_tests = [f"{d.quote!r} -> {d.test}" for d in declared if d.test and not qn.test_exists(d.test)]
    report = problems + [f"declared quote not in the text: {q!r}" for q in stale] \
        + [f"declared test does not exist: {t}" for t in missing_tests]
    assert not report, f"{path.name}: {len(report)} problems\n" + "\n".join(report)
