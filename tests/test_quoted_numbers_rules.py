"""The rules of the quoted-number check, on small examples (each rule can fail)."""

import pytest

from tests import quoted_numbers as qn


def texts(markdown):
    return [q.text for q in qn.numbers_in_markdown(markdown)]


def test_numbers_are_found_with_their_precision_and_kind():
    found = qn.numbers_in_markdown("loss 0.34, accuracy 88%, gap 1.2e-7 and −0.5")
    assert [(q.value, q.decimals, q.percent, q.scientific) for q in found] == [
        (0.34, 2, False, False), (88.0, 0, True, False), (pytest.approx(1.2e-7), 1, False, True),
        (-0.5, 1, False, False)]


def test_code_links_headings_sections_years_and_math_integers_are_not_claims():
    markdown = ("## 3. Title\nsee section 7, §2 and lessons 4 and 5, `lr=0.003`, [paper](https://x.org/1.5), "
                "He et al. (2015), $\\sigma^2 = 2/n$ but $0.707$ and 12")
    assert texts(markdown) == ["0.707", "12"]


def test_dashes_between_numbers_are_not_minus_signs():
    assert texts("a 2-256-256-1 network, 0.14–0.30") == ["2", "256", "256", "1", "0.14", "0.30"]


def test_a_quoted_number_matches_a_printed_one_rounded_to_its_digits():
    (q,) = qn.numbers_in_markdown("0.34")
    assert qn.is_printed(q, [0.3412]) and not qn.is_printed(q, [0.346])
    (pct,) = qn.numbers_in_markdown("89%")
    assert qn.is_printed(pct, [0.893]) and qn.is_printed(pct, [89.3]) and not qn.is_printed(pct, [88.2])
    (sci,) = qn.numbers_in_markdown("1.2e-7")
    assert qn.is_printed(sci, [1.24e-7]) and not qn.is_printed(sci, [1.3e-7])
    (integer,) = qn.numbers_in_markdown("193")
    assert not qn.is_printed(integer, [178.0])


def _notebook(*cells):
    return {"cells": [{"cell_type": kind, "source": source} for kind, source in cells]}


def test_a_number_must_be_printed_above_it_on_every_path():
    nb = _notebook(("code", "print(x)"), ("markdown", "the loss ends at 0.18"))
    ok = {"a": [[{"name": "stdout", "text": "loss 0.181\n"}]], "b": [[{"name": "stdout", "text": "loss 0.176\n"}]]}
    assert qn.unchecked_numbers(nb, ok, [])[0] == []
    drift = {"a": [[{"name": "stdout", "text": "loss 0.181\n"}]], "b": [[{"name": "stdout", "text": "loss 0.364\n"}]]}
    (problem,) = qn.unchecked_numbers(nb, drift, [])[0]
    assert "'0.18'" in problem and "on b" in problem
    later = _notebook(("markdown", "the loss ends at 0.18"), ("code", "print(x)"))
    assert len(qn.unchecked_numbers(later, ok, [])[0]) == 1


def test_settings_in_code_and_declared_quotes_pass():
    nb = _notebook(("code", "train(steps=300)  # 17 is a comment"), ("markdown", "after 300 steps; 17; from 2.5 to 17"))
    outputs = {"a": [[]]}
    problems, _ = qn.unchecked_numbers(nb, outputs, [])
    assert len(problems) == 3  # 17, and 2.5 and 17 in the range
    declared = [qn.Declared("from 2.5 to 17", "tested range", "", "tests/x.py::test_y")]
    problems, used = qn.unchecked_numbers(nb, outputs, declared)
    assert len(problems) == 1 and used == {"from 2.5 to 17"}


def test_bad_declarations_are_rejected(tmp_path, monkeypatch):
    monkeypatch.setattr(qn, "DECLARATIONS", tmp_path)
    (tmp_path / "nb.toml").write_text('[[declared]]\nquote = "0.5"\nkind = "tested range"\n')
    with pytest.raises(ValueError, match="names its test"):
        qn.load_declarations("nb.ipynb")
    (tmp_path / "nb.toml").write_text('[[declared]]\nquote = "0.5"\nkind = "guess"\nwhy = "x"\n')
    with pytest.raises(ValueError, match="kind"):
        qn.load_declarations("nb.ipynb")


def test_test_exists_reads_the_named_file():
    assert qn.test_exists("tests/test_quoted_numbers_rules.py::test_test_exists_reads_the_named_file[x]")
    assert not qn.test_exists("tests/test_quoted_numbers_rules.py::test_no_such_test")


def test_years_end_sentences_and_printed_numbers_may_touch_units():
    assert texts("Schoenholz et al. 2017. Then 0.5") == ["0.5"]
    assert qn.numbers_in_text("ratio 3.12x, 90ms") == [3.12, 90.0]


def test_embedded_pictures_and_tags_are_not_printed_numbers():
    html = '<img src="data:image/png;base64,iVB+42E9957AAA"> <b>loss 0.25</b>'
    text = qn.output_text([{"data": {"text/html": html}}])
    assert qn.numbers_in_text(text) == [0.25]
    assert qn.numbers_in_text("1e999 and 2") == [2.0]
