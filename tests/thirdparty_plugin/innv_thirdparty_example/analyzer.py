"""The sign of the gradient, built on innv's public analyzer base."""

import tensorflow as tf

from innv_core.analyzer import AnalyzerNetworkBase


class GradientSign(AnalyzerNetworkBase):
    """sign(d output / d input): the direction an FGSM attack would take."""

    _needs_graph = False

    def _create_analysis(self, inputs, indices):
        return [tf.sign(g) for g in self._selected_gradient(inputs, indices)]
