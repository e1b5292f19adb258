"""Self-check questions with instant feedback, built on ipywidgets only.

    q = multiple_choice("Which scheme was designed for tanh?", ["He", "Xavier"], answer=1,
                        explanation="Glorot & Bengio derived it assuming tanh is linear near 0.")
    q            # shows the question; feedback appears as soon as an option is picked
    q.check(1)   # the same check, callable from code and tests: returns True/False
"""

import math

import ipywidgets as W

from helpers._check import check_float, check_int

CORRECT_STYLE = "color:#009E73;font-weight:bold"
WRONG_STYLE = "color:#D55E00;font-weight:bold"


class Question(W.VBox):
    """Base class: a question, an input, and a feedback line that `check` fills in."""

    def __init__(self, question: str, input_widget: W.Widget, explanation: str):
        self.explanation = explanation
        self.feedback = W.HTML("")
        super().__init__([W.HTML(f"<b>Self-check.</b> {question}"), input_widget, self.feedback])
        self.add_class("course-quiz")

    def _show(self, correct: bool, hint: str = "") -> bool:
        if correct:
            self.feedback.value = f"<span style='{CORRECT_STYLE}'>Correct.</span> {self.explanation}"
        else:
            self.feedback.value = f"<span style='{WRONG_STYLE}'>Not quite.</span> {hint}"
        return correct


class MultipleChoice(Question):
    def __init__(self, question: str, options: list[str], answer: int, explanation: str,
                 hints: dict[int, str] | None = None):
        if not isinstance(options, (list, tuple)) or len(options) < 2:
            raise ValueError(f"options must be a list of at least 2 strings, got {options!r}")
        check_int("answer", answer, 0, len(options) - 1)
        self.options = list(options)
        self.answer = answer
        self.hints = hints or {}
        self.choice = W.RadioButtons(options=self.options, value=None, layout=W.Layout(width="auto"))
        self.choice.observe(lambda change: self.check(self.options.index(change["new"])), names="value")
        super().__init__(question, self.choice, explanation)

    def check(self, index: int) -> bool:
        """Give feedback for option `index` (0-based) and return whether it is right."""
        check_int("index", index, 0, len(self.options) - 1)
        return self._show(index == self.answer, self.hints.get(index, "Think again, then try another option."))


class Numeric(Question):
    def __init__(self, question: str, answer: float, explanation: str, rel_tol: float = 0.05,
                 abs_tol: float = 0.0, hint: str = ""):
        self.answer = check_float("answer", answer)
        self.rel_tol = check_float("rel_tol", rel_tol, 0.0)
        self.abs_tol = check_float("abs_tol", abs_tol, 0.0)
        self.hint = hint
        self.entry = W.FloatText(value=None, description="answer:", continuous_update=False)
        self.entry.observe(lambda change: self.check(change["new"]) if change["new"] is not None else None,
                           names="value")
        super().__init__(question, self.entry, explanation)

    def check(self, value: float) -> bool:
        """Give feedback for `value` and return whether it is within tolerance of the answer."""
        try:
            value = float(value)
        except (TypeError, ValueError):
            return self._show(False, "Enter a number.")
        ok = math.isfinite(value) and math.isclose(value, self.answer, rel_tol=self.rel_tol, abs_tol=self.abs_tol)
        direction = "too large" if value > self.answer else "too small"
        return self._show(ok, f"{value:g} is {direction}. {self.hint}")


def multiple_choice(question: str, options: list[str], answer: int, explanation: str,
                    hints: dict[int, str] | None = None) -> MultipleChoice:
    """A question with one right option (`answer`, 0-based). Feedback shows as soon as an option is picked;
    `hints` maps a wrong option's index to a nudge tailored to that mistake."""
    return MultipleChoice(question, options, answer, explanation, hints)


def numeric(question: str, answer: float, explanation: str, rel_tol: float = 0.05, abs_tol: float = 0.0,
            hint: str = "") -> Numeric:
    """A question with a numeric answer, right within `rel_tol` (relative) or `abs_tol` (absolute)."""
    return Numeric(question, answer, explanation, rel_tol, abs_tol, hint)
