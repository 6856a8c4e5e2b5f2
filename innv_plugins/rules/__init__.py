"""LRP rules, one plugin module per rule (with its ignore-bias and fixed-parameter variants)."""
