"""An example innv plugin distribution: the LRP rule ``PositiveGamma``, the ``occlusion`` analyzer
and the ``top_fraction_drop`` metric.

Each module registers its names through its own entry point of the ``innv`` group
(see ``pyproject.toml``); nothing here is imported until innv loads the plugins.
"""

__version__ = "0.1.0"
