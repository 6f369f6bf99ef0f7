"""Translation: a ``Transformer`` trained on sentence pairs, decoded by
beam search (``inference.Translator``) and scored with sacreBLEU
(``metrics``).

The registry imports ``task`` when the task is first asked for.
"""
