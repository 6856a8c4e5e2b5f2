"""An example innv plugin distribution: the LRP rule ``PositiveGamma`` and the ``occlusion`` analyzer.

Each module registers its names through its own entry point of the ``innv`` group
(see ``pyproject.toml``); nothing here is imported until innv loads the plugins.
"""

__version__ = "0.1.0"
