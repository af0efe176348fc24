"""Model builders: synthetic Edge TPU families, random branching nets, NASBench-101, zoo."""
