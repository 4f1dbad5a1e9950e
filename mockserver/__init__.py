"""convo-mock: a stateful mock server for LLM conversation APIs, served from their OpenAPI contracts."""

__version__ = "0.1.0"
