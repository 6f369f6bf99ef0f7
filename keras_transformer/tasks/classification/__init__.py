"""Text classification: an encoder with a pooled head (``task``), and the
``LabelPredictor`` that serves it (``predictor``).

The registry imports ``task`` when the task is first asked for.
"""
