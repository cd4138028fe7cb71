"""Exceptions of the theory package (subclasses of the project-wide :class:`ReluInjError`)."""

from reluinj.empirical.errors import ReluInjError


class TheoryInputError(ReluInjError):
    """A theory function was called with an argument outside its domain (message says which)."""


class TheoryConvergenceError(ReluInjError):
    """A numerical solve (root, maximisation) did not reach its tolerance."""
