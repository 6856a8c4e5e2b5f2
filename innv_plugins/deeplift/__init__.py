"""Plugin: DeepLIFT (Shrikumar et al., ICML 2017), Rescale and RevealCancel, native on Keras 3.

Registered as ``deep_lift.wrapper`` (iNNvestigate's name) and ``deep_lift``. Modules:

- :mod:`.analyzer`: ``DeepLIFTWrapper``;
- :mod:`.reference`: the ``reference_inputs`` parameter and the reference's forward pass;
- :mod:`.roles`: which rule each layer gets (the ``deeplift`` crossings of the kinds);
- :mod:`.nonlinear`: the Rescale ratio, the RevealCancel parts, Captum's max-pooling rule;
- :mod:`.rescale`, :mod:`.reveal_cancel`: the mappings of each nonlinear mode.
"""

from __future__ import annotations

from innv_core.hookspecs import hookimpl


@hookimpl
def innv_register_analyzers(registry):
    from innv_plugins.deeplift.analyzer import DeepLIFTWrapper

    registry.add_analyzer("deep_lift.wrapper", DeepLIFTWrapper)
    registry.add_analyzer("deep_lift", DeepLIFTWrapper)


@hookimpl
def innv_register_crossings(registry):
    from innv_plugins.deeplift.roles import register_crossings

    register_crossings(registry)
