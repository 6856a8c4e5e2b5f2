"""The ``innv demo``: synthetic images with known object masks, a small CNN, every analyzer.

:mod:`innv_core.app.demo.data` generates the images (no TensorFlow), :mod:`innv_core.app.demo.model`
builds and trains the CNN, :mod:`innv_core.app.demo.run` produces the figures and the table.
"""
