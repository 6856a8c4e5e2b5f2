"""Metrics: how good is a heatmap? Quantus 0.6's metrics on innv's engine.

:class:`~.metric.Metric` is the base every metric plugin derives from (``innv_plugins.metrics``),
:class:`~.result.MetricResult` what :meth:`Metric.evaluate` returns; :mod:`.batch` checks the
inputs, :mod:`.normalise` and :mod:`.baselines` are Quantus' preprocessing and perturbation
baselines, :mod:`.forward` the compiled model call every model-based metric shares. Metrics are
created by name with :func:`innv_core.create_metric`. Importing this package imports no TensorFlow.
"""

from innv_core.metrics.metric import Metric
from innv_core.metrics.result import MetricResult

__all__ = ["Metric", "MetricResult"]
