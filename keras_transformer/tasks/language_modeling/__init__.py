"""Language modelling: a decoder-only model trained on text (``task``),
and the ``TextGenerator`` that continues prompts (``predictor``).

The registry imports ``task`` when the task is first asked for.
"""
