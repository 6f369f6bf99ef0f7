"""How to decode: the strategy and its hyperparameters, in one dataclass."""

import dataclasses
from typing import Literal, Optional

from keras_transformer.inference.beam_search import beam_search
from keras_transformer.inference.decoding import greedy_decode
from keras_transformer.inference.sampling import sample

STRATEGIES = ("greedy", "beam", "sampling")


@dataclasses.dataclass(frozen=True)
class DecodingConfig:
    """A decoding strategy and its settings.

    Args:
        strategy: ``"beam"`` (the paper's), ``"greedy"`` or ``"sampling"``.
        beam_size: K for beam search (the paper: 4).
        length_penalty: alpha of ``((5 + n) / 6) ** alpha`` (the paper:
            0.6); scores of every strategy are normalised by it, but only
            beam search chooses by it.
        temperature: sampling temperature (> 0).
        top_k: sample among the k most likely tokens (0 = all).
        top_p: nucleus sampling threshold (1 = off).
        seed: sampling seed (None: a different draw every call).

    Example:

    >>> DecodingConfig("sampling", temperature=0.8, top_p=0.9, seed=1)
    """

    strategy: Literal["greedy", "beam", "sampling"] = "beam"
    beam_size: int = 4
    length_penalty: float = 0.6
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: Optional[int] = None

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"Unknown decoding strategy {self.strategy!r}: choose one of "
                f"{', '.join(STRATEGIES)}."
            )

    def search(self):
        """``(function, keyword arguments)`` of the strategy.

        The function is called as ``function(model, inputs, max_length,
        lengths=..., **kwargs)``.
        """
        if self.strategy == "greedy":
            return greedy_decode, {"length_penalty": self.length_penalty}
        if self.strategy == "beam":
            return beam_search, {
                "beam_size": self.beam_size,
                "length_penalty": self.length_penalty,
            }
        return sample, {
            "temperature": self.temperature,
            "top_k": self.top_k,
            "top_p": self.top_p,
            "seed": self.seed,
            "length_penalty": self.length_penalty,
        }

    def describe(self):
        """A short label, e.g. ``beam4 alpha=0.6``."""
        if self.strategy == "greedy":
            return "greedy"
        if self.strategy == "beam":
            return f"beam{self.beam_size} alpha={self.length_penalty}"
        return (
            f"sampling T={self.temperature} top_k={self.top_k} "
            f"top_p={self.top_p} seed={self.seed}"
        )
