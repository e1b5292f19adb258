"""Every number a lesson's text states, checked against what the notebook prints.

    markdown cell --numbers_in_markdown--> [Quoted("0.34", value=0.34, decimals=2, ...), ...]
    outputs of the code cells above it, on every numeric path --printed_numbers--> [0.3412, 330.0, ...]
    a quoted number passes if it is printed (rounded to the digits the text gives) on every path,
    or it lies inside a declared quote (tests/quoted_numbers/<notebook>.toml) that says what it is:

        [[declared]]
        quote = "from 0.14 to 0.30"     # an exact piece of one markdown cell; covers every number in it
        kind = "tested range"           # theory | literature | setting | tested range
        test = "tests/test_claims_overfitting.py::test_width_8_trades_overfitting_for_underfitting"
        why = "range over 10 seeds and three numeric paths"

Not checked, because they are not claims: numbers inside inline code and code blocks, link targets, HTML tags,
heading numbers ("## 3."), references to sections and lessons ("section 7", "lessons 4 and 5"), years
(1950-2029), integers inside LaTeX math (exponents, fractions, indices: the formula is the claim, and its
decimals are checked), and literals that appear in the notebook's own code cells (the settings it runs).
"""

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DECLARATIONS = REPO / "tests" / "quoted_numbers"
KINDS = {"theory", "literature", "setting", "tested range"}

# A number: optional sign, digits with an optional decimal part, an optional exponent, an optional percent sign.
# The sign counts only where it cannot be a dash between two numbers ("2-256-256-1", "0.14-0.30").
_NUMBER = re.compile(
    r"(?:(?<![\w.])(?P<sign>[-−])|(?<![\w.]))(?P<mant>\d+(?:,\d{3})*(?:\.\d+)?)"
    r"(?:(?:e|E)(?P<exp>[-+−]?\d+)|\s*(?:×|x|\\times)\s*10\^\{?(?P<exp10>[-−]?\d+)\}?)?(?P<pct>\s?%)?(?![\w])"
)
_STRUCTURE = re.compile(
    r"(?:\b(?:sections?|lessons?|chapters?|notebooks?|parts?)|§)\s*\d+(?:\s*(?:,|and|or|to|-|–)\s*\d+)*", re.I)
_YEAR = re.compile(r"(?<![\d.])(?:19[5-9]\d|20[0-2]\d)(?!\d|\.\d)")
_HEADING_NUMBER = re.compile(r"^(#+\s*)(?:lesson\s+)?\d+(?:\.\d+)*\.?", re.I | re.M)


@dataclass(frozen=True)
class Quoted:
    """One number as the text states it."""
    text: str        # as written, e.g. "88%" or "0.34"
    value: float     # 88.0, 0.34
    decimals: int    # digits after the point in the mantissa
    percent: bool
    scientific: bool
    start: int       # position in the cell's text
    end: int


def _to_float(mant: str, exp: str | None) -> float:
    value = float(mant.replace(",", ""))
    if exp is not None:
        value *= 10.0 ** int(exp.replace("−", "-"))
    return value


def _parse(match: re.Match) -> Quoted:
    mant = match.group("mant")
    exp = match.group("exp") or match.group("exp10")
    value = _to_float(mant, exp)
    if match.group("sign"):
        value = -value
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    return Quoted(match.group(0).strip(), value, decimals, bool(match.group("pct")), exp is not None,
                  match.start(), match.end())


def _blank(text: str, spans) -> str:
    """Replace the given spans by spaces, so positions stay where they were."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _spans(pattern: str, text: str, flags=0):
    return [m.span() for m in re.finditer(pattern, text, flags)]


def numbers_in_markdown(text: str) -> list[Quoted]:
    """The numbers a markdown cell states as facts, with their positions (see the module docstring for what is left
    out and why)."""
    skip = (_spans(r"```.*?```", text, re.S) + _spans(r"`[^`\n]*`", text) + _spans(r"\]\([^)]*\)", text)
            + _spans(r"<[^>\n]*>", text) + _spans(r"https?://\S+", text))
    text = _blank(text, skip)
    text = _blank(text, [m.span() for m in _STRUCTURE.finditer(text)] + [m.span() for m in _YEAR.finditer(text)]
                  + [m.span() for m in _HEADING_NUMBER.finditer(text)])
    math = _spans(r"\$\$.*?\$\$", text, re.S)
    text_wo_display = _blank(text, math)
    math += _spans(r"\$[^$\n]+\$", text_wo_display)
    found = []
    for match in _NUMBER.finditer(text):
        quoted = _parse(match)
        in_math = any(a <= quoted.start < b for a, b in math)
        if in_math and quoted.decimals == 0 and not quoted.percent:
            continue
        found.append(quoted)
    return found


# In printed output a number may run into a unit or a letter ("3.12x", "90ms"): no lookahead there.
_PRINTED = re.compile(_NUMBER.pattern.removesuffix("(?![\\w])"))


def numbers_in_text(text: str) -> list[float]:
    """Every number in printed output, as values (a percent sign is kept as the value in percent)."""
    values = []
    for match in _PRINTED.finditer(text):
        try:
            values.append(_parse(match).value)
        except OverflowError:  # "1e999": not a number anyone printed on purpose
            continue
    # "0.893" printed as a fraction may be quoted as "89.3%": let both forms stand.
    return values


def _rounds_to(printed: float, quoted: Quoted) -> bool:
    target = abs(quoted.value)
    candidates = [abs(printed)]
    if quoted.percent:
        candidates.append(abs(printed) * 100.0)
    for value in candidates:
        if quoted.scientific and target != 0:
            # same significant digits as the text: "1.2e-7" matches 1.24e-7, not 1.3e-7
            exponent = int(f"{target:e}".split("e")[1])
            scale = 10.0 ** exponent
            if round(value / scale, quoted.decimals) == round(target / scale, quoted.decimals):
                return True
        elif round(value, quoted.decimals) == round(target, quoted.decimals):
            return True
    return False


def is_printed(quoted: Quoted, printed: list[float]) -> bool:
    """True if some printed value, rounded to the digits the text gives, is the quoted number."""
    return any(_rounds_to(p, quoted) for p in printed)


def code_literals(notebook: dict) -> set[float]:
    """Numbers written in the notebook's code cells: the settings it runs with."""
    values = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            source = re.sub(r"#.*", "", source)  # comments are prose, not settings
            values.update(abs(v) for v in numbers_in_text(source))
    return values


def output_text(outputs: list[dict]) -> str:
    """The text a learner reads in a cell's outputs: streams, text/plain, text/markdown and text/html."""
    parts = []
    for out in outputs:
        if "text" in out:
            parts.append(out["text"] if isinstance(out["text"], str) else "".join(out["text"]))
        for mime in ("text/plain", "text/markdown", "text/html"):
            data = out.get("data", {}).get(mime)
            if data:
                data = data if isinstance(data, str) else "".join(data)
                # the text a learner reads: no embedded pictures (base64 is not a number) and no tag attributes
                data = re.sub(r"data:[^\s\"')]*", " ", data)
                parts.append(re.sub(r"<[^>]*>", " ", data) if mime == "text/html" else data)
    return "\n".join(parts)


@dataclass(frozen=True)
class Declared:
    quote: str
    kind: str
    why: str
    test: str


def load_declarations(notebook_name: str) -> list[Declared]:
    """The declared quotes of one notebook (an absent file declares nothing). Raises ValueError on a bad entry."""
    path = DECLARATIONS / f"{Path(notebook_name).stem}.toml"
    if not path.exists():
        return []
    entries = tomllib.loads(path.read_text()).get("declared", [])
    declared = []
    for i, entry in enumerate(entries):
        quote, kind = entry.get("quote", ""), entry.get("kind", "")
        why, test = entry.get("why", ""), entry.get("test", "")
        if not quote or kind not in KINDS:
            raise ValueError(f"{path.name} entry {i}: needs a quote and a kind in {sorted(KINDS)}, got {entry!r}")
        if kind == "tested range" and not test:
            raise ValueError(f"{path.name} entry {i} ({quote!r}): a tested range names its test")
        if kind != "tested range" and not why:
            raise ValueError(f"{path.name} entry {i} ({quote!r}): say why ({kind})")
        declared.append(Declared(quote, kind, why, test))
    return declared


def test_exists(node_id: str) -> bool:
    """True if `tests/x.py::test_name[...]` names a test function defined in that file."""
    file, _, name = node_id.partition("::")
    name = name.split("[")[0]
    path = REPO / file
    return bool(name) and path.exists() and re.search(rf"^def {re.escape(name)}\(", path.read_text(), re.M) is not None


def unchecked_numbers(notebook: dict, outputs_by_path: dict[str, list[list[dict]]],
                      declared: list[Declared]) -> tuple[list[str], set[str]]:
    """Check one notebook. `outputs_by_path` maps a numeric path's name to the outputs of each code cell, in order.

    Returns (problems, used quotes): one line per quoted number that is neither printed above it on every path, nor a
    setting in the code, nor inside a declared quote."""
    settings = code_literals(notebook)
    problems, used = [], set()
    printed_so_far = {path: [] for path in outputs_by_path}
    code_index = 0
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            for path, outputs in outputs_by_path.items():
                if code_index < len(outputs):
                    printed_so_far[path].extend(numbers_in_text(output_text(outputs[code_index])))
            code_index += 1
            continue
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        covered = []
        for d in declared:
            for m in re.finditer(re.escape(d.quote), text):
                covered.append(m.span())
                used.add(d.quote)
        for quoted in numbers_in_markdown(text):
            if any(a <= quoted.start and quoted.end <= b for a, b in covered):
                continue
            if not quoted.percent and not quoted.scientific and abs(quoted.value) in settings:
                continue
            missing = [path for path, printed in printed_so_far.items() if not is_printed(quoted, printed)]
            if missing:
                context = text[max(0, quoted.start - 50):quoted.end + 30].replace("\n", " ")
                problems.append(f"cell {index}: {quoted.text!r} is not printed above it on {', '.join(missing)}: "
                                f"...{context}...")
    return problems, used


def load_outputs(outputs_dir: Path, notebook_name: str) -> dict[str, list[list[dict]]]:
    """{numeric path: outputs per code cell} from the files `conftest.py` writes while nbval runs the notebooks."""
    found = {}
    for path_dir in sorted(p for p in outputs_dir.iterdir() if p.is_dir()):
        file = path_dir / f"{Path(notebook_name).stem}.json"
        if file.exists():
            saved = json.loads(file.read_text())
            if not saved["complete"]:
                raise ValueError(f"{file}: some cells did not run; run the whole notebook (make nbval)")
            found[path_dir.name] = [cell["outputs"] for cell in saved["cells"]]
    return found
