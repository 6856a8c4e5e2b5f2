"""Op handlers: gradient rules for ``keras.ops`` functions inside opened layers.

One module per family, each its own entry point (see ``docs/opening-layers.md``).
"""
