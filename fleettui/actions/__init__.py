"""Replace-only actions: planners and guardrails (pure), executor (async), journal (JSONL)."""
