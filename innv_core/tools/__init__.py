"""Tools built on the analyzers: pattern computation, perturbation analysis."""
