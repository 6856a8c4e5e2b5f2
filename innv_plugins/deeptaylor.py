"""Plugin: DeepTaylor decomposition (Montavon et al., 2017) for ReLU networks.

Follows iNNvestigate: the explained output passes a ReLU first (DeepTaylor explains positive
evidence), kernel layers use the z+ rule, average pooling passes relevance like the gradient.
The paper's w-square rule for unbounded inputs is one argument away:
``DeepTaylor(model, input_layer_rule="WSquare")``.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from innv_core.composite import Composite, Parameter, Ref, RuleSpec, is_kernel
from innv_core.graph import Node, require_relu_network
from innv_core.hookspecs import hookimpl
from innv_core.registry import get_registry
from innv_core.reverse import Mapping
from innv_plugins.lrp.analyzer import LRP
from innv_plugins.lrp.composites import composite_analyzer
from innv_plugins.rules.bounded import require_bounds
from innv_plugins.rules.z_plus import ZPlusRule


class DeepTaylorBase(LRP):
    """DeepTaylor's model check, head and mappings; the rules come from its composites."""

    def _check_model(self) -> None:
        super()._check_model()
        require_relu_network(self._graph, type(self).__name__)

    @classmethod
    def describe_layer_kind(cls, kind: str) -> str:
        return get_registry().crossing_description("deep_taylor", kind)  # innv_plugins.lrp.crossings

    def _head_mapping(self, y: Any) -> Any:
        return tf.nn.relu(y)

    def _all_zero_hint(self, outputs: Any) -> str:
        if (outputs < 0).all():
            return (
                "Likely cause: DeepTaylor explains positive evidence only (a ReLU at the output), "
                "and the explained output is negative; select a neuron with a positive output."
            )
        return super()._all_zero_hint(outputs)

    def _choose_mapping(self, node: Node) -> Mapping:
        """DeepTaylor's own crossings (``deep_taylor`` family) where they give a mapping, else LRP's."""
        crossing = get_registry().crossing("deep_taylor", node.kind) if node.kind is not None else None
        own = crossing is not None and crossing.family == "deep_taylor" and crossing.how is not None
        if own and self._reverse_mapping(node.layer) is None:
            return crossing.how
        return super()._choose_mapping(node)


#: DeepTaylor: z+ at every kernel layer (``input_layer_rule`` stays the user's to set).
DEEP_TAYLOR = Composite(
    "DeepTaylor for ReLU networks with unbounded input: z+ at every kernel layer. Models with other "
    "non-linearities are refused (``disable_model_checks=True`` overrides).",
    rules=[(is_kernel, RuleSpec(ZPlusRule))],
)
#: Bounded DeepTaylor: z+ inside, z^B (the model input's ``[low, high]``) at the input layer.
BOUNDED_DEEP_TAYLOR = Composite(
    "DeepTaylor for inputs bounded to ``[low, high]``: z+ inside, z^B at the input layer.",
    rules=[(is_kernel, RuleSpec(ZPlusRule))],
    input_rules=[(is_kernel, (Ref("low"), Ref("high")))],
    parameters=[Parameter("low"), Parameter("high")],
    check=lambda owner, values: require_bounds(owner, values["low"], values["high"]),
)

DeepTaylor = composite_analyzer("DeepTaylor", DEEP_TAYLOR, base=DeepTaylorBase, module=__name__)
BoundedDeepTaylor = composite_analyzer(
    "BoundedDeepTaylor", BOUNDED_DEEP_TAYLOR, base=DeepTaylor, module=__name__)


@hookimpl
def innv_register_analyzers(registry):
    registry.add_analyzer("deep_taylor", DeepTaylor)
    registry.add_analyzer("deep_taylor.bounded", BoundedDeepTaylor)
