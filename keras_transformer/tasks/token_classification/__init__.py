"""Named-entity recognition: word tags (``tagged_words``), the
tag loss and accuracy (``loss``), the task (``task``) and the
``EntityTagger`` that serves it (``predictor``).

The registry imports ``task`` when the task is first asked for.
"""
