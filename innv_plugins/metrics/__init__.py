"""Metrics of explanation quality, one module per metric, one plugin per Quantus category.

Each category package registers its metrics through ``innv_register_metrics`` (entry points
``metrics_<category>`` in ``pyproject.toml``), exactly as a third party would.
"""
