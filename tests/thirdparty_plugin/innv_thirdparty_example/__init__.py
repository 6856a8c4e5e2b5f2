"""A third-party innv plugin: registers ``thirdparty.gradient_sign`` through its own entry point."""

from innv_core import hookimpl


@hookimpl
def innv_register_analyzers(registry):
    from innv_thirdparty_example.analyzer import GradientSign

    registry.add_analyzer("thirdparty.gradient_sign", GradientSign)
