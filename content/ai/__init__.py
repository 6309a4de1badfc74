"""The AI pipeline (research -> generate -> optimize -> visualize -> personalize).

Entry points: :class:`CallContext` (who, which endpoint/model, budgets), the step functions
and :func:`run` in :mod:`content.ai.pipeline`, :func:`ask` for one structured call, and the
errors in :mod:`content.ai.errors`. With no endpoint configured everything runs offline.
"""

from content.ai.client import CallContext, ask
from content.ai.errors import (
    AIError,
    AIRequestError,
    AIUnavailableError,
    BudgetExceededError,
    InvalidAnswerError,
)
from content.ai.pipeline import (
    STEPS,
    PipelineResult,
    Research,
    generate,
    optimize,
    personalize,
    research,
    run,
    visualize,
)
from content.ai.usage import remaining_tokens, tokens_used

__all__ = [
    "STEPS", "AIError", "AIRequestError", "AIUnavailableError", "BudgetExceededError", "CallContext",
    "InvalidAnswerError", "PipelineResult", "Research", "ask", "generate", "optimize", "personalize",
    "remaining_tokens", "research", "run", "tokens_used", "visualize",
]
