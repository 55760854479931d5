"""Task-steered restoration (Instruct-IPT, arXiv 2407.00676): what a request asks for."""

from .prompt import TASKS, Prompt, parse_prompt

__all__ = ["TASKS", "Prompt", "parse_prompt"]
