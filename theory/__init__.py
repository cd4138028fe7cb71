"""fl RDT theory for the injectivity of random ReLU layers (pure functions, no I/O).

See math.md §2 for the functional (★) evaluated here and §3 for the published values.
"""

from .api import LEVELS, e_curve, energy, normalize_level, threshold
from .constants import REFERENCE_THRESHOLDS, ReferenceValue
from .errors import TheoryConvergenceError, TheoryInputError
from .functional import Quadrature, functional, functional_terms
from .result import LevelResult, ThresholdResult
from .solver import threshold_min_ratio
from .tables import reference_table, theory_table, threshold_table
from .wendel import (
    first_moment_bound,
    first_moment_exponent,
    first_moment_threshold,
    log_first_moment,
    log_wendel_p0,
    wendel_p0,
)

__all__ = [
    "LEVELS",
    "REFERENCE_THRESHOLDS",
    "LevelResult",
    "Quadrature",
    "ReferenceValue",
    "ThresholdResult",
    "TheoryConvergenceError",
    "TheoryInputError",
    "e_curve",
    "energy",
    "first_moment_bound",
    "first_moment_exponent",
    "first_moment_threshold",
    "functional",
    "functional_terms",
    "log_first_moment",
    "log_wendel_p0",
    "normalize_level",
    "reference_table",
    "theory_table",
    "threshold",
    "threshold_min_ratio",
    "threshold_table",
    "wendel_p0",
]
