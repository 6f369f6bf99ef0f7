"""Model hyperparameters: a typed dataclass with the paper's presets."""

import dataclasses
from typing import Optional, Tuple

from keras_transformer.layers.feed_forward import ACTIVATIONS
from keras_transformer.layers.token_and_position_embedding import POSITIONS


@dataclasses.dataclass
class TransformerConfig:
    """Hyperparameters of a Transformer model (paper Table 3 notation).

    Args:
        vocab_size: V, the (source) vocabulary size.
        target_vocab_size: the target vocabulary size; None shares the
            source vocabulary (and, with ``tie_embeddings``, one embedding
            matrix for source, target and output: section 3.4).
        num_layers: N, encoder layers (and decoder layers unless
            ``num_decoder_layers`` is set).
        num_decoder_layers: decoder layers; None means ``num_layers``.
        d_model: D, the model size.
        num_heads: h, attention heads.
        ff_dim: d_ff, the feed-forward inner size.
        dropout: P_drop, residual and embedding dropout.
        attention_dropout: dropout on attention weights.
        activation_dropout: dropout inside the feed-forward network.
        activation: feed-forward activation.
        norm_first: pre-LN (True) or the paper's post-LN (False).
        position: "sinusoidal" (paper), "sinusoidal_concatenated" (Marian:
            sines, then cosines) or "learned" positions.
        max_length: longest sequence the model will see (learned position
            table size; decoding limit).
        layer_norm_epsilon: LayerNorm epsilon.
        tie_embeddings: share the embedding and pre-softmax matrices.
        copy_source: an encoder-decoder also copies source tokens through
            a ``PointerGenerator`` (See et al. 2017); needs a shared
            vocabulary. For summarisation, where names and numbers are
            copied from the document.
        scale_embeddings: multiply token embeddings by sqrt(D) (the
            paper); BERT does not.
        embedding_norm: a LayerNorm after the sum of token, position and
            segment embeddings (BERT).
        num_segments: segment (token type) embeddings and a
            ``segment_ids`` input, for ``question [SEP] context`` (BERT: 2;
            0: none, the paper).
        output_bias: a learned bias on the vocabulary logits (BERT's
            masked-LM head, Marian's ``final_logits_bias``).
        suppressed_ids: output ids that no search generates, besides PAD
            and BOS: a published checkpoint's special token copied to
            several of this package's special ids (GPT-2's
            ``<|endoftext|>`` is also UNK here: only its EOS copy may be
            generated).

    The activation is ``relu`` (the paper), ``gelu`` (exact, with erf: BERT),
    ``gelu_tanh`` (the tanh approximation: GPT-2) or ``silu`` (swish:
    Marian).

    Example:

    >>> config = TransformerConfig.base(vocab_size=37000)
    >>> config.d_model, config.num_heads
    (512, 8)
    """

    #: V, the (source) vocabulary size.
    vocab_size: int = 8000
    #: the target vocabulary size; null shares the source vocabulary.
    target_vocab_size: Optional[int] = None
    #: N, encoder layers (and decoder layers unless ``num_decoder_layers`` is
    #: set).
    num_layers: int = 6
    #: decoder layers; null: ``num_layers``.
    num_decoder_layers: Optional[int] = None
    #: D, the model size.
    d_model: int = 512
    #: h, attention heads.
    num_heads: int = 8
    #: d_ff, the feed-forward inner size.
    ff_dim: int = 2048
    #: P_drop, residual and embedding dropout.
    dropout: float = 0.1
    #: dropout on attention weights.
    attention_dropout: float = 0.0
    #: dropout inside the feed-forward network.
    activation_dropout: float = 0.0
    #: feed-forward activation: "relu" (the paper), "gelu" (exact: BERT),
    #: "gelu_tanh" (GPT-2) or "silu" (Marian).
    activation: str = "relu"
    #: pre-LN (true) or the paper's post-LN (false).
    norm_first: bool = False
    #: "sinusoidal" (the paper), "sinusoidal_concatenated" (Marian: sines, then
    #: cosines) or "learned" positions.
    position: str = "sinusoidal"
    #: the longest sequence the model will see (learned position table size;
    #: decoding limit).
    max_length: int = 256
    #: LayerNorm epsilon.
    layer_norm_epsilon: float = 1e-6
    #: share the embedding and pre-softmax matrices (section 3.4).
    tie_embeddings: bool = True
    #: an encoder-decoder also copies source tokens through a pointer-generator
    #: (See et al. 2017); needs a shared vocabulary.
    copy_source: bool = False
    #: multiply token embeddings by sqrt(D) (the paper); BERT does not.
    scale_embeddings: bool = True
    #: a LayerNorm after the sum of token, position and segment embeddings
    #: (BERT).
    embedding_norm: bool = False
    #: segment (token type) embeddings and a ``segment_ids`` input (BERT: 2; 0:
    #: none, the paper).
    num_segments: int = 0
    #: a learned bias on the vocabulary logits (BERT's masked-LM head, Marian's
    #: ``final_logits_bias``).
    output_bias: bool = False
    #: output ids that no search generates, besides PAD and BOS.
    suppressed_ids: Tuple[int, ...] = ()

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in ("target_vocab_size", "num_decoder_layers"):
                if value is None:
                    continue
            if field.name == "num_segments" and value == 0:
                continue
            if field.type in (int, "int", Optional[int]):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(
                        f"TransformerConfig.{field.name} must be an int. "
                        f"Received: {value!r}"
                    )
                if value <= 0:
                    raise ValueError(
                        f"TransformerConfig.{field.name} must be positive. "
                        f"Received: {value!r}"
                    )
            if field.type in (bool, "bool") and not isinstance(value, bool):
                raise ValueError(
                    f"TransformerConfig.{field.name} must be true or false. "
                    f"Received: {value!r}"
                )
        self.suppressed_ids = self._ids(self.suppressed_ids)
        for name in ("dropout", "attention_dropout", "activation_dropout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ValueError(
                    f"TransformerConfig.{name} must be in [0, 1). "
                    f"Received: {value!r}"
                )
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"TransformerConfig.activation must be one of "
                f"{list(ACTIVATIONS)}. Received: {self.activation!r}"
            )
        if self.position not in POSITIONS:
            raise ValueError(
                f"TransformerConfig.position must be one of {list(POSITIONS)}."
                f" Received: {self.position!r}"
            )
        if self.copy_source and not self.shared_vocabulary:
            raise ValueError(
                "TransformerConfig.copy_source copies source ids into the "
                "output, so source and target need one shared vocabulary: "
                "set target_vocab_size=None (tokenizer.shared: true), or "
                "copy_source=False."
            )
        if self.d_model % self.num_heads:
            raise ValueError(
                f"TransformerConfig.d_model={self.d_model} must be divisible "
                f"by num_heads={self.num_heads}."
            )

    def _ids(self, ids):
        if not isinstance(ids, (list, tuple)) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i
            for i in ids
        ):
            raise ValueError(
                "TransformerConfig.suppressed_ids must be a list of token "
                f"ids (ints >= 0). Received: {ids!r}"
            )
        if any(i >= self.output_vocab_size for i in ids):
            raise ValueError(
                "TransformerConfig.suppressed_ids must be ids below the "
                f"output vocabulary size {self.output_vocab_size}. "
                f"Received: {list(ids)}"
            )
        return tuple(ids)

    @property
    def decoder_layers(self):
        """The number of decoder layers."""
        return self.num_decoder_layers or self.num_layers

    @property
    def shared_vocabulary(self):
        """Whether source and target share one vocabulary."""
        return self.target_vocab_size is None

    @property
    def output_vocab_size(self):
        """The size of the output (target) vocabulary."""
        return self.target_vocab_size or self.vocab_size

    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """The fields as a plain dict (for JSON/YAML)."""
        values = dataclasses.asdict(self)
        values["suppressed_ids"] = list(self.suppressed_ids)
        return values

    @classmethod
    def from_dict(cls, values):
        """Builds a config from a dict; unknown keys raise ValueError."""
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(
                f"Unknown TransformerConfig field(s) {unknown}. Valid fields: "
                f"{sorted(names)}"
            )
        return cls(**values)

    @classmethod
    def base(cls, **overrides):
        """The paper's base model: N=6, D=512, d_ff=2048, h=8, P_drop=0.1."""
        values = dict(
            num_layers=6, d_model=512, ff_dim=2048, num_heads=8, dropout=0.1
        )
        values.update(overrides)
        return cls(**values)

    @classmethod
    def big(cls, **overrides):
        """The paper's big model: N=6, D=1024, d_ff=4096, h=16, P_drop=0.3."""
        values = dict(
            num_layers=6, d_model=1024, ff_dim=4096, num_heads=16, dropout=0.3
        )
        values.update(overrides)
        return cls(**values)

    @classmethod
    def small(cls, **overrides):
        """A model that trains in minutes on a laptop CPU."""
        values = dict(
            num_layers=2, d_model=128, ff_dim=512, num_heads=4, dropout=0.1
        )
        values.update(overrides)
        return cls(**values)

    @classmethod
    def preset(cls, name, **overrides):
        """``base``, ``big`` or ``small`` by name."""
        presets = {"base": cls.base, "big": cls.big, "small": cls.small}
        if name not in presets:
            raise ValueError(
                f"Unknown model preset {name!r}; choose one of "
                f"{sorted(presets)}."
            )
        return presets[name](**overrides)
