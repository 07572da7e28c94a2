"""Reasoners: the side-effecting edge that answers the policy's LLM requests."""
