"""How to decode: the strategy and its hyperparameters, in one dataclass.

The one definition of the decoding settings: the experiment schema nests it
(``evaluation.decoding``) and the command line makes its flags from the
fields (``metadata["help"]``, and ``metadata["flag"]`` when the flag is not
the field's name). This module imports no TensorFlow or Keras; ``search``
imports the search functions when called.
"""

import dataclasses
from typing import Literal, Optional

STRATEGIES = ("greedy", "beam", "sampling")


def _field(default, help, flag=None):
    metadata = {"help": help}
    if flag:
        metadata["flag"] = flag
    return dataclasses.field(default=default, metadata=metadata)


def _nonneg(value):
    return value >= 0


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
        min_length: no EOS before this many generated tokens (every
            strategy; 0: off).
        no_repeat_ngram_size: n > 0: no output contains the same n-gram
            twice, enforced inside every search (0: off).

    Example:

    >>> DecodingConfig("sampling", temperature=0.8, top_p=0.9, seed=1)
    """

    strategy: Literal["greedy", "beam", "sampling"] = _field(
        "beam", "the search: beam (the paper's), greedy or sampling", "decode"
    )
    beam_size: int = _field(4, "beam width K (the paper: 4)")
    length_penalty: float = _field(
        0.6, "alpha of ((5 + n) / 6) ** alpha (the paper: 0.6)"
    )
    temperature: float = _field(1.0, "sampling temperature, > 0")
    top_k: int = _field(0, "sample among the k most likely tokens (0: all)")
    top_p: float = _field(1.0, "nucleus sampling threshold (1: off)")
    seed: Optional[int] = _field(None, "sampling seed (none: a new draw)")
    min_length: int = _field(
        0, "no end of sequence before this many generated tokens (0: off)"
    )
    no_repeat_ngram_size: int = _field(
        0, "never generate an n-gram of this size twice (0: off)"
    )

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"Unknown decoding strategy {self.strategy!r}: choose one of "
                f"{', '.join(STRATEGIES)}."
            )
        checks = (
            ("beam_size", self.beam_size, int, lambda v: v >= 1, ">= 1"),
            ("length_penalty", self.length_penalty, float, _nonneg, ">= 0"),
            ("temperature", self.temperature, float, lambda v: v > 0, "> 0"),
            ("top_k", self.top_k, int, _nonneg, ">= 0"),
            ("top_p", self.top_p, float, lambda v: 0 < v <= 1, "in (0, 1]"),
            ("min_length", self.min_length, int, _nonneg, ">= 0"),
            (
                "no_repeat_ngram_size",
                self.no_repeat_ngram_size,
                int,
                _nonneg,
                ">= 0",
            ),
        )
        for name, value, kind, valid, wanted in checks:
            numeric = (int,) if kind is int else (int, float)
            if (
                isinstance(value, bool)
                or not isinstance(value, numeric)
                or not valid(value)
            ):
                raise ValueError(
                    f"{name} must be {'an int' if kind is int else 'a number'}"
                    f" {wanted}. Received: {name}={value!r}"
                )
        if self.seed is not None and (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or self.seed < 0
        ):
            raise ValueError(
                "seed must be None or an int >= 0. Received: "
                f"seed={self.seed!r}"
            )

    def search(self):
        """``(function, keyword arguments)`` of the strategy.

        The function is called as ``function(model, inputs, max_length,
        lengths=..., **kwargs)``.
        """
        from keras_transformer.inference.beam import beam_search
        from keras_transformer.inference.decoding import greedy_decode
        from keras_transformer.inference.sampling import sample

        restrictions = {
            name: getattr(self, name)
            for name in ("min_length", "no_repeat_ngram_size")
            if getattr(self, name)
        }
        if self.strategy == "greedy":
            return greedy_decode, {
                "length_penalty": self.length_penalty,
                **restrictions,
            }
        if self.strategy == "beam":
            return beam_search, {
                "beam_size": self.beam_size,
                "length_penalty": self.length_penalty,
                **restrictions,
            }
        return sample, {
            "temperature": self.temperature,
            "top_k": self.top_k,
            "top_p": self.top_p,
            "seed": self.seed,
            "length_penalty": self.length_penalty,
            **restrictions,
        }

    def replace(self, **changes):
        """A copy with the settings in ``changes`` that are not None."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **changes)

    def _restriction_labels(self, min_label, ngram_label):
        labels = []
        if self.min_length:
            labels.append(f"{min_label}{self.min_length}")
        if self.no_repeat_ngram_size:
            labels.append(f"{ngram_label}{self.no_repeat_ngram_size}")
        return labels

    def slug(self):
        """A file-name label, e.g. ``beam4-alpha0.6`` or ``greedy`` (with
        ``-min10-norepeat3`` when those options are on)."""
        if self.strategy == "greedy":
            label = "greedy"
        elif self.strategy == "beam":
            label = f"beam{self.beam_size}-alpha{self.length_penalty}"
        else:
            label = (
                f"sampling-t{self.temperature}-k{self.top_k}-p{self.top_p}"
                f"-seed{self.seed}"
            )
        return "-".join([label, *self._restriction_labels("min", "norepeat")])

    def describe(self):
        """A short label, e.g. ``beam4 alpha=0.6`` (with
        ``min_length=10 no_repeat_ngram_size=3`` when those are on)."""
        if self.strategy == "greedy":
            label = "greedy"
        elif self.strategy == "beam":
            label = f"beam{self.beam_size} alpha={self.length_penalty}"
        else:
            label = (
                f"sampling T={self.temperature} top_k={self.top_k} "
                f"top_p={self.top_p} seed={self.seed}"
            )
        return " ".join(
            [
                label,
                *self._restriction_labels(
                    "min_length=", "no_repeat_ngram_size="
                ),
            ]
        )
