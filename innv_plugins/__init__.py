"""Built-in innv plugins. Each module registers through the `innv` entry-point group."""
