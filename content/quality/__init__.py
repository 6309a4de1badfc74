"""Quality control before publishing: checks with a number and a threshold each.

Entry points: :func:`run_checks` (all checks on a document), :func:`check_magnet` (on a
stored magnet), :func:`blocked_reason` (the
message that blocks submit/publish), :func:`org_context` (what the checks need), and the
knowledge base in :mod:`content.quality.knowledge` (``add_document``, ``list_documents``,
``delete_document``) that the fact check reads.
"""

from content.quality.checks import (
    CHECKS,
    blocked_reason,
    blocking,
    check_magnet,
    org_context,
    org_voice,
    run_checks,
)
from content.quality.knowledge import KnowledgeError, add_document, delete_document, list_documents
from content.quality.result import CheckResult, OrgContext
from content.quality.voice_rules import Voice

__all__ = [
    "CHECKS", "CheckResult", "KnowledgeError", "OrgContext", "Voice", "add_document",
    "blocked_reason", "blocking", "check_magnet", "delete_document", "org_voice", "list_documents", "org_context", "run_checks",
]
