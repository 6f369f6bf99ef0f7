"""Summarisation: the readers of document/summary pairs (``summaries``),
ROUGE and the longest-lines baseline (``metrics``), the task (``task``)
and the ``Summarizer`` (``predictor``).

The registry imports ``task`` when the task is first asked for.
"""
