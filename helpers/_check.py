"""Argument checks shared by the helpers: every bad argument is a ValueError naming the parameter."""

from collections.abc import Iterable


def check_int(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """Return `value` if it is an int in [low, high], else raise ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {value!r}")
    _check_range(name, value, low, high)
    return value


def check_float(name: str, value, low: float | None = None, high: float | None = None,
                low_open: bool = False) -> float:
    """Return float(`value`) if it is a finite number in range, else raise ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low_open and low is not None and value <= low:
        raise ValueError(f"{name} must be > {low}, got {value!r}")
    _check_range(name, value, low, high)
    return value


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    """Return `value` if it is one of `choices`, else raise ValueError listing them."""
    choices = list(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def _check_range(name, value, low, high):
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")
