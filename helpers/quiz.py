"""Self-check questions with instant feedback, built on ipywidgets only.

    q = multiple_choice("Which scheme was designed for tanh?", ["He", "Xavier"], answer=1,
                        explanation="Glorot & Bengio derived it assuming tanh is linear near 0.")
    q            # shows the question; feedback appears as soon as an option is picked
    q.check(1)   # the same check, callable from code and tests: returns True/False

Predict, then check: before an experiment the learner commits to a guess; after it, the reveal shows the measured
value beside the guess, and stays hidden until there is a guess. Nothing is graded or stored beyond the kernel.

    guess = predict("Layer 50's std with N(0, 0.01^2)?", choices=["about 1", "about 1e-3", "below 1e-40"])
    ...run the experiment...
    guess.reveal(measured=f"{std50:.1e}", answer=2, why="Each layer multiplies the std by about 0.11.")

    guess = predict("Initial loss of a 2-class net?", number=True)    # a number box instead of choices
    guess.reveal(measured=f"{loss0:.3f}", value=loss0, why="ln 2 = 0.693: the net starts out unsure.")
"""

import html
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


HIDDEN_STYLE = "color:#666"


class Prediction(W.VBox):
    """A guess the learner commits to before an experiment; `reveal` shows the measurement beside it."""

    def __init__(self, question: str, choices: list[str] | None = None, number: bool = False):
        if (choices is None) == (not number):
            raise ValueError("give either choices=[...] (at least 2) or number=True")
        if choices is not None and (not isinstance(choices, (list, tuple)) or len(choices) < 2):
            raise ValueError(f"choices must be a list of at least 2 strings, got {choices!r}")
        self.choices = list(choices) if choices is not None else None
        if self.choices is not None:
            self.entry = W.RadioButtons(options=self.choices, value=None, layout=W.Layout(width="auto"))
        else:
            self.entry = W.Text(placeholder="your guess, e.g. 0.5 or 1e-3", continuous_update=False,
                                layout=W.Layout(width="260px"))
        self._reveals = []
        self.entry.observe(lambda change: self._update(), names="value")
        super().__init__([W.HTML(f"<b>Predict first.</b> {question}"), self.entry])
        self.add_class("course-predict")

    @property
    def guess(self):
        """The learner's guess: the chosen option's index, a float, or None before a (valid) guess."""
        if self.choices is not None:
            return None if self.entry.value is None else self.choices.index(self.entry.value)
        try:
            value = float(self.entry.value.strip().replace("−", "-"))
        except ValueError:
            return None
        return value if math.isfinite(value) else None

    def set_guess(self, guess) -> None:
        """Enter a guess from code (what a click or typing does): an option index, or a number."""
        if self.choices is not None:
            check_int("guess", guess, 0, len(self.choices) - 1)
            self.entry.value = self.choices[guess]
        else:
            self.entry.value = repr(check_float("guess", guess))

    def reveal(self, measured: str, why: str, answer: int | None = None, value: float | None = None,
               hints: dict[int, str] | None = None) -> W.HTML:
        """A line, shown once there is a guess: the guess, the `measured` result (text from the computed values)
        and `why` in one line. For choices, `answer` is the option the measurement supports and `hints` maps a
        wrong option's index to a line on what that guess missed; for a number, `value` is the measured number,
        used to say how far off the guess was."""
        hints = dict(hints or {})
        if self.choices is not None:
            check_int("answer", answer, 0, len(self.choices) - 1)
            for index in hints:
                check_int("hints key", index, 0, len(self.choices) - 1)
        elif value is not None:
            check_float("value", value)
        line = W.HTML("")
        line.add_class("course-reveal")
        self._reveals.append((line, measured, why, answer, value, hints))
        self._update()
        return line

    def _update(self):
        guess = self.guess
        for line, measured, why, answer, value, hints in self._reveals:
            if guess is None:
                line.value = f"<span style='{HIDDEN_STYLE}'>Make your guess above to see what was measured.</span>"
                continue
            if self.choices is not None:
                verdict = ("as you predicted" if guess == answer
                           else f"you picked <i>{html.escape(self.choices[guess])}</i>")
                missed = f" {hints[guess]}" if guess != answer and guess in hints else ""
                line.value = (f"<b>Measured:</b> {html.escape(measured)} ({verdict}; the measurement supports "
                              f"<i>{html.escape(self.choices[answer])}</i>). {why}{missed}")
            else:
                off = ""
                if value is not None and value != 0 and guess != 0 and (value > 0) == (guess > 0):
                    factor = max(value / guess, guess / value)
                    off = "; within 10%" if factor < 1.1 else f"; off by a factor {factor:.2g}"
                line.value = f"<b>Measured:</b> {html.escape(measured)} (you guessed {guess:g}{off}). {why}"


def predict(question: str, choices: list[str] | None = None, number: bool = False) -> Prediction:
    """Ask the learner to commit to a guess before an experiment: pick one of `choices`, or type a number
    (`number=True`). Call `.reveal(...)` on it after the experiment; the reveal stays hidden until there is a guess."""
    return Prediction(question, choices, number)
