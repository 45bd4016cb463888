"""LLM reasoning over any OpenAI-compatible API: the reasoner, an LLM-backed simulated human, and their client.

The runner calls `preflight` before every run; it returns at once when no LLM is configured.
"""

from pahf_robot.llm.client import (
    LLMClient,
    LLMError,
    LLMSettings,
    Usage,
    llm_totals,
    preflight,
    shared_client,
    usage_totals,
)

__all__ = ["LLMClient", "LLMError", "LLMSettings", "Usage", "llm_totals", "preflight", "shared_client", "usage_totals"]
