"""Exceptions of innv (light: no TensorFlow import)."""


class NotAnalyzableModelError(Exception):
    """The model cannot be analyzed by this analyzer; the message names the layer and the remedy."""
