"""Published checkpoints in this package's models.

``load_huggingface(path)`` reads a Hugging Face checkpoint directory
(``config.json``, ``model.safetensors``, the tokenizer's files) without
torch, and returns one of this package's models with the checkpoint's
weights, and its tokenizer. One module per family: ``bert`` (BERT,
MiniLM, sentence-transformers encoders), ``marian`` (OPUS-MT translators)
and ``gpt2``.
"""

from keras_transformer.checkpoints.huggingface import (
    FAMILIES,
    load_huggingface,
    read_safetensors,
)

__all__ = ["FAMILIES", "load_huggingface", "read_safetensors"]
