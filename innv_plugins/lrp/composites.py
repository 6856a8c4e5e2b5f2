"""Zennit's named composites: one rule for Dense layers, one for convolutions, one for the first layer.

Each analyzer is the Zennit 1.0 composite of the same name, with its definitions:

==============================  ===================  ====================  ===============================
analyzer                        Dense / EinsumDense  other kernel layers   kernel layers reading the input
==============================  ===================  ====================  ===============================
``lrp.epsilon_plus``            Epsilon(1e-6)        z+ (alpha=1, beta=0)  as the others
``lrp.epsilon_plus_flat``       Epsilon(1e-6)        z+                    Flat
``lrp.epsilon_alpha_2_beta_1``  Epsilon(1e-6)        alpha=2, beta=1       as the others
``lrp.epsilon_gamma_box``       Epsilon(1e-6)        Gamma(0.25)           z^B (``low``, ``high``) on a conv
==============================  ===================  ====================  ===============================

z+ and alpha-beta keep the sign-split bias (Zennit's ``ZPlus`` and ``AlphaBeta``); their
denominators, and gamma's, are stabilized by 1e-6 as in Zennit. Activations and
BatchNorm layers pass relevance, sums and average pooling split it in proportion (Zennit's
``layer_map_base``), and every BatchNorm that directly follows a Dense/Conv layer is first folded
into it (Zennit's ``SequentialMergeBatchNorm`` canonizer, innv's LRP default; pass
``fuse_batchnorm=False`` to keep it as a pass-through layer). Zennit's "first layer" is the first
matching module in definition order; innv's are the kernel layers that read a model input
(through preprocessing), the same layer in a single-input CNN. In ``lrp.epsilon_gamma_box`` the
first layer gets z^B only if it is a convolution, as in Zennit.
"""

from __future__ import annotations

from typing import Any

from innv_plugins.lrp.analyzer import LRP, refuse_fixed
from innv_plugins.lrp.presets import is_dense, is_kernel
from innv_plugins.rules.alpha_beta import AlphaBetaRule
from innv_plugins.rules.bounded import require_bounds
from innv_plugins.rules.epsilon import EpsilonRule
from innv_plugins.rules.gamma import GammaRule

#: Zennit's epsilon on Dense layers in every composite.
COMPOSITE_EPSILON = 1e-6
#: Zennit's stabilizer of the other rules' denominators.
ZENNIT_STABILIZER = 1e-6


class _Composite(LRP):
    """An LRP analyzer with one rule for Dense layers and one for the other kernel layers."""

    def __init__(self, model: Any, *args: Any, epsilon: float = COMPOSITE_EPSILON, **kwargs: Any) -> None:
        refuse_fixed(type(self).__name__, kwargs, "rule")
        rule = [(is_dense, EpsilonRule(epsilon=epsilon)), (is_kernel, self._kernel_rule())]
        super().__init__(model, *args, rule=rule, **kwargs)

    def _kernel_rule(self) -> Any:
        """The rule of the kernel layers other than Dense (each composite names its own)."""
        raise NotImplementedError(f"{type(self).__name__} must define _kernel_rule().")


class LRPEpsilonPlus(_Composite):
    """Zennit's ``EpsilonPlus``: epsilon on Dense layers, z+ on convolutions."""

    def _kernel_rule(self) -> Any:
        return AlphaBetaRule(1, 0, bias=True, epsilon=ZENNIT_STABILIZER)


class LRPEpsilonPlusFlat(LRPEpsilonPlus):
    """Zennit's ``EpsilonPlusFlat``: as ``EpsilonPlus``, with the flat rule at the input layer."""

    def __init__(self, model: Any, *args: Any, **kwargs: Any) -> None:
        refuse_fixed(type(self).__name__, kwargs, "input_layer_rule")
        kwargs["input_layer_rule"] = "Flat"
        super().__init__(model, *args, **kwargs)


class LRPEpsilonAlpha2Beta1(_Composite):
    """Zennit's ``EpsilonAlpha2Beta1``: epsilon on Dense layers, alpha=2 beta=1 on convolutions."""

    def _kernel_rule(self) -> Any:
        return AlphaBetaRule(2, 1, bias=True, epsilon=ZENNIT_STABILIZER)


class LRPEpsilonGammaBox(_Composite):
    """Zennit's ``EpsilonGammaBox``: epsilon on Dense layers, gamma on convolutions, z^B (the box
    ``[low, high]`` of the model input) on the convolutions that read the input.

    Args:
        model: a Keras model.
        low, high: the input range (numbers or arrays broadcastable to the input), mapped through
            preprocessing layers to the first convolution's input range.
        gamma: the gamma rule's parameter (Zennit's 0.25).
    """

    def __init__(self, model: Any, low: Any = None, high: Any = None, *args: Any, gamma: float = 0.25,
                 **kwargs: Any) -> None:
        require_bounds(type(self).__name__, low, high)
        self._gamma = gamma
        refuse_fixed(type(self).__name__, kwargs, "input_layer_rule")
        kwargs["input_layer_rule"] = [(_is_convolution, (low, high))]
        super().__init__(model, *args, **kwargs)

    def _kernel_rule(self) -> Any:
        return GammaRule(gamma=self._gamma)


def _is_convolution(layer: Any) -> bool:
    return is_kernel(layer) and not is_dense(layer)
