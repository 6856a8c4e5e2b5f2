"""The ``innv demo``: synthetic images with known object masks, a small CNN, every analyzer.

:mod:`innv_core.demo.data` generates the images (no TensorFlow), :mod:`innv_core.demo.model`
builds and trains the CNN, :mod:`innv_core.demo.run` produces the figures and the table.
"""
