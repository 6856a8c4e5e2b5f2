"""Pattern types, one plugin module each."""
