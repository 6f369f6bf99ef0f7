"""Masked-language-model pretraining (``task``), and the ``MaskFiller``
that fills ``[MASK]``s (``predictor``).

The registry imports ``task`` when the task is first asked for.
"""
