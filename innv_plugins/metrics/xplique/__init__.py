"""xplique 2.0's fidelity metrics (faithfulness): deletion, insertion and µ-fidelity."""

from innv_core.hookspecs import hookimpl
from innv_plugins.metrics.xplique.deletion import Deletion
from innv_plugins.metrics.xplique.insertion import Insertion
from innv_plugins.metrics.xplique.mu_fidelity import MuFidelity

__all__ = ["Deletion", "Insertion", "MuFidelity"]

METRICS = (Deletion, Insertion, MuFidelity)


@hookimpl
def innv_register_metrics(registry):
    for cls in METRICS:
        registry.add_metric(cls.name, cls)
