"""Errors of the AI pipeline; each message says what to do. ``retryable`` tells a job queue."""

from __future__ import annotations


class AIError(RuntimeError):
    """Base of every pipeline error."""

    retryable = False

    def __init__(self, message: str, *, step: str = "", model: str = "") -> None:
        super().__init__(message)
        self.step, self.model = step, model


class BudgetExceededError(AIError):
    """The organization's monthly tokens or the per-request budget would be exceeded (a 4xx/429)."""

    def __init__(self, message: str, *, used: int = 0, limit: int = 0, step: str = "", model: str = "") -> None:
        super().__init__(message, step=step, model=model)
        self.used, self.limit = used, limit


class AIUnavailableError(AIError):
    """The endpoint kept answering 429/5xx or timing out after every retry (try again later)."""

    retryable = True


class AIRequestError(AIError):
    """The endpoint refused the request for good (bad key, unknown model, 4xx)."""


class InvalidAnswerError(AIError):
    """The model's answers stayed malformed or off-schema after every re-ask."""
