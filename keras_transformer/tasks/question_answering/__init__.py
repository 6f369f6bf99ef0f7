"""Extractive question answering: context windows (``windows``), the
span loss (``loss``), SQuAD's official scoring (``evaluation``), the task
(``task``) and the ``AnswerExtractor`` (``predictor``).

The registry imports ``task`` when the task is first asked for.
"""
