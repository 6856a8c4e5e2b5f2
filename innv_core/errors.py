"""Exceptions and warnings of innv (light: no TensorFlow import).

Every error innv raises on purpose derives from :class:`InnvError` *and* from the built-in a
caller would expect (``ValueError`` for a bad value, ``KeyError`` for an unknown name), so that
``except InnvError`` catches all of innv's refusals and old ``except ValueError`` code keeps
working. Each message names what was wrong (the parameter, the value received), what is
accepted, and the fix.
"""

from __future__ import annotations

from typing import Any


class InnvError(Exception):
    """Base class of the errors innv raises on purpose."""


class InvalidParameterError(InnvError, ValueError):
    """A parameter of an analyzer, rule or tool has a value it cannot work with."""


class InvalidInputError(InnvError, ValueError):
    """Data given to ``analyze``/``fit``/a tool has the wrong shape, dtype or values."""


class NeuronSelectionError(InvalidParameterError):
    """``neuron_selection`` or ``output_index`` does not name neurons of the model."""


class NotAnalyzableModelError(InnvError, ValueError):
    """The model cannot be analyzed by this analyzer; the message names the layer and the remedy."""


class AnalyzerFileError(InnvError, ValueError):
    """A state or file that is not a (valid) saved innv analyzer, or a state that cannot be saved."""


class NotFittedError(InnvError, RuntimeError):
    """An analyzer that learns from data (PatternNet, ...) was used before ``fit``."""


class UnknownNameError(InnvError, KeyError):
    """No plugin registered this name (analyzer, rule, pattern type, perturbation)."""

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(InnvError, ValueError):
    """Two plugins registered the same name."""


class NumericalError(InnvError, ArithmeticError):
    """An analysis came out NaN or infinite (overflow in the model or in a rule's division)."""


class AmbiguousNameError(UnknownNameError):
    """A name given by two installed distributions was used without saying which one."""


# -- warnings ------------------------------------------------------------------------------
class InnvWarning(UserWarning):
    """Base class of innv's warnings."""


class PluginLoadWarning(InnvWarning):
    """A plugin could not be loaded and was skipped."""


class PluginConflictWarning(InnvWarning):
    """Two plugins registered the same name; the first one is kept."""


class AnalysisWarning(InnvWarning):
    """An analysis ran but its result is likely not what was wanted (all zero, method misapplied)."""


# -- message helpers -----------------------------------------------------------------------
def invalid_parameter(name: str, value: Any, accepted: str, fix: str = "") -> InvalidParameterError:
    """An :class:`InvalidParameterError` with innv's message format: name, value, what is accepted."""
    message = f"{name} must be {accepted}, got {value!r}."
    return InvalidParameterError(f"{message} {fix}".strip())


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int if it is an integer ``>= minimum`` (not a bool), else a named error."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        accepted = "a positive integer (1, 2, ...)" if minimum == 1 else f"an integer >= {minimum}"
        raise invalid_parameter(name, value, accepted)
    return int(value)


def check_number(name: str, value: Any, *, minimum: float | None = None, strict: bool = False,
                 fix: str = "") -> float:
    """``value`` as a float if it is a finite real number ``>= minimum`` (``>`` if ``strict``)."""
    import math
    import numbers

    bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise invalid_parameter(name, value, f"a finite number{bound}", fix)
    value = float(value)
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise invalid_parameter(name, value, f"a finite number{bound}", fix)
    return value


def check_range(
    name: str, value: Any, *, allow_equal: bool = True, alternatives: str = ""
) -> tuple[float, float]:
    """``value`` as a ``(low, high)`` pair of finite numbers with ``low <= high`` (``<`` if not
    ``allow_equal``); ``alternatives`` names the other values the caller accepts, for the message."""
    relation = "<=" if allow_equal else "<"
    prefix = f"{alternatives} or " if alternatives else ""
    accepted = f"{prefix}a (low, high) pair of finite numbers, low {relation} high"
    try:
        low, high = value
        low, high = check_number(name, low), check_number(name, high)
    except (TypeError, ValueError):
        raise invalid_parameter(name, value, accepted) from None
    if low > high or (low == high and not allow_equal):
        raise invalid_parameter(name, value, accepted)
    return low, high


def one_line(error: BaseException) -> str:
    """An exception's message on one line (a KeyError's without its quotes), for the command line."""
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(str(text).split()) or type(error).__name__
