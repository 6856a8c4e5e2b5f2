"""Plugin: the gradient family (gradient, input x gradient, deconvnet, guided backprop, IG, SmoothGrad)."""

from __future__ import annotations

from innv_core.hookspecs import hookimpl


@hookimpl
def innv_register_analyzers(registry):
    from innv_plugins.gradient.basic import BaselineGradient, Gradient, InputTimesGradient
    from innv_plugins.gradient.guided import Deconvnet, GuidedBackprop
    from innv_plugins.gradient.integrated import IntegratedGradients
    from innv_plugins.gradient.smoothgrad import SmoothGrad

    registry.add_analyzer("gradient", Gradient)
    registry.add_analyzer("gradient.baseline", BaselineGradient)
    registry.add_analyzer("input_t_gradient", InputTimesGradient)
    registry.add_analyzer("deconvnet", Deconvnet)
    registry.add_analyzer("guided_backprop", GuidedBackprop)
    registry.add_analyzer("integrated_gradients", IntegratedGradients)
    registry.add_analyzer("smoothgrad", SmoothGrad)
