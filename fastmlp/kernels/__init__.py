"""Numba kernels: pure array math, one module per layer family."""
