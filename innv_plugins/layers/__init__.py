"""Layer families: one plugin module per family of Keras layers (see ``docs/layer-families.md``).

Each module registers its layer classes through ``innv_register_layers`` and states, in its
docstring, how relevance crosses them and which reference implementation it follows. The
kinds the handlers name are registered by :mod:`.kinds` (``innv_register_layer_kinds``).
"""
