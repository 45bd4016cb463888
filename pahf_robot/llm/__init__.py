"""One door to any OpenAI-compatible server: the client with its cache, the prompts and their schemas."""

from pahf_robot.llm.client import LLMClient, LLMError, LLMSettings, Usage, shared_client, usage_totals

__all__ = ["LLMClient", "LLMError", "LLMSettings", "Usage", "shared_client", "usage_totals"]
