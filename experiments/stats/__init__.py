"""Statistics engine for A/B tests: fixed-horizon, sequential and Bayesian analysis.

>>> from experiments.stats import VariantData, analyze
>>> result = analyze([VariantData("A", 10000, conversions=512),
...                   VariantData("B", 10050, conversions=570)], method="sequential")

See docs/statistics.md for the formulas and how they were validated.
"""

from experiments.stats.analysis import analyze
from experiments.stats.models import AnalysisResult, Comparison, VariantData

__all__ = ["AnalysisResult", "Comparison", "VariantData", "analyze"]
