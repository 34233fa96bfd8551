// An empty program: the benchmark baseline for process start-up cost.
