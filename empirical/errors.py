"""Exceptions with messages meant for users (the CLI prints them as one line)."""


class ReluInjError(ValueError):
    """Base class: bad input or an input the solvers cannot answer exactly."""


class InvalidMatrixError(ReluInjError):
    """The matrix is not a finite 2-D float array of a usable shape."""


class DegenerateInputError(ReluInjError):
    """A is not in general position in a way that makes the open-cell search differ from k*."""


class UnknownMethodError(ReluInjError):
    """The requested solver method does not exist."""
