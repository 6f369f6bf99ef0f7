"""One-token decoder steps over a key/value cache, for every decoding loop.

A stepper hides which model it drives. Every search (greedy, beam, sampling)
only calls:

- ``prompt(inputs, bos_id)`` -> (B, P) int32 tokens the output starts
  from (right-padded with 0),
- ``start(inputs, batch_size, max_length)`` -> a state (nested tensors whose
  leading axis is the batch),
- ``step(tokens, state, index)`` -> ``(logits, state)``: (B, V) float32
  logits of the token after position ``index``, from (B, 1) ``tokens`` at
  ``index`` (-inf at the model's ``suppressed_ids``),
- ``repeat(state, k)`` -> the state with every row repeated ``k`` times
  (B -> B*k, copies adjacent), for beam search,
- ``reorder(state, indices)`` -> the rows ``indices`` of the parts of the
  state that depend on the generated tokens (the self-attention cache).

Caches have a fixed size, so shapes stay static and the loops compile with
XLA (``tf.function(jit_compile=True)`` or ``jax.jit``).

Steppers read a model's parts from its attributes (``models.Transformer``
and ``models.LanguageModel`` have them): ``source_embedding``,
``target_embedding``, ``encoder``, ``decoder`` and ``output_projection``
(None when the logits come from the embedding reversed), and
``output_bias`` where the model has one (an ``OutputBias``), for an
encoder-decoder; ``embedding``, ``decoder`` and ``output_projection`` for a
language model. A model built by hand with the functional API decodes once
it is given those attributes (``model.encoder = encoder``, ...).
"""

from keras import ops

from keras_transformer.special_tokens import PAD_ID

SEQ2SEQ_PARTS = ("source_embedding", "target_embedding", "encoder", "decoder")
LANGUAGE_MODEL_PARTS = ("embedding", "decoder")


def _repeat(tensor, k):
    return ops.repeat(tensor, k, axis=0)


def _reorder_self_attention(cache, indices):
    new_cache = []
    for layer_cache in cache:
        layer_cache = dict(layer_cache)
        keys, values = layer_cache["self_attention"]
        layer_cache["self_attention"] = (
            ops.take(keys, indices, axis=0),
            ops.take(values, indices, axis=0),
        )
        new_cache.append(layer_cache)
    return new_cache


def _repeat_cache(cache, k):
    # "weights" (the layers' decoding weights) have no batch axis.
    return [
        {
            name: kv if name == "weights" else tuple(_repeat(t, k) for t in kv)
            for name, kv in entry.items()
        }
        for entry in cache
    ]


def _parts(model, names, kind):
    missing = [name for name in names if getattr(model, name, None) is None]
    if missing:
        raise ValueError(
            f"Model '{getattr(model, 'name', model)}' has no attribute(s) "
            f"{', '.join(missing)}: decoding a {kind} reads its parts "
            f"({', '.join(names)}, and output_projection or None) from "
            "attributes. Build it with keras_transformer.models, or set "
            "them on a hand-built model (e.g. model.encoder = encoder)."
        )
    return [getattr(model, name) for name in names] + [
        getattr(model, "output_projection", None)
    ]


def _kernel_state(embedding, projection):
    """``{"logits_kernel": (D, V)}``, the tied output kernel made once per
    search; ``{}`` when the model has its own output projection."""
    if projection is not None:
        return {}
    return {"logits_kernel": embedding.logits_kernel()}


def _logits(embedding, projection, states, kernel=None, bias=None):
    if projection is not None:
        logits = projection(states)
    elif kernel is not None:
        logits = ops.matmul(states, ops.cast(kernel, states.dtype))
    else:
        logits = embedding(states, reverse=True)
    if bias is not None:
        logits = bias(logits)
    return ops.cast(logits, "float32")


def suppressed(model):
    """The ids the model's config says no search generates (a tuple)."""
    config = getattr(model, "transformer_config", None)
    return tuple(getattr(config, "suppressed_ids", ()))


def suppress(logits, ids):
    """(B, V) float32 ``logits`` with the ``ids`` made -inf (none: as
    they are)."""
    if not ids:
        return logits
    vocabulary = ops.arange(logits.shape[-1], dtype="int32")
    banned = ops.any(vocabulary[:, None] == ops.array(ids, "int32"), axis=1)
    return ops.where(banned[None, :], float("-inf"), logits)


class Seq2SeqStepper:
    """Encoder output, cache and one-token decoder steps of a Transformer.

    The encoder runs once in ``start``; the cross-attention keys/values of
    its output are projected once into the cache. A model with a
    ``pointer_generator`` (``copy_source``) also keeps the encoder output,
    its copy-attention keys and the source ids in the state, and every step
    mixes copies of source tokens into its (log-probability) logits.

    Args:
        model: a model from ``build_transformer`` (or loaded from
            ``.keras``).
        pad_id: the padding id of the source (0).

    Example:

    >>> stepper = Seq2SeqStepper(model)
    >>> state = stepper.start(source_tokens, 1, max_length=20)
    >>> logits, state = stepper.step(tokens, state, index)
    """

    def __init__(self, model, pad_id=PAD_ID):
        self.model = model
        (
            self.source_embedding,
            self.target_embedding,
            self.encoder,
            self.decoder,
            self.output_projection,
        ) = _parts(model, SEQ2SEQ_PARTS, "translation model")
        self.pointer_generator = getattr(model, "pointer_generator", None)
        self.output_bias = getattr(model, "output_bias", None)
        self.suppressed_ids = suppressed(model)
        self.pad_id = pad_id

    def start(self, source_tokens, batch_size, max_length):
        """Encodes (B, S) ``source_tokens``; empty cache of ``max_length``."""
        del batch_size  # given by the source
        source_tokens = ops.convert_to_tensor(source_tokens, "int32")
        source_mask = ops.not_equal(source_tokens, self.pad_id)
        memory = self.encode(source_tokens)
        batch_size = ops.shape(source_tokens)[0]
        cache = self.decoder.init_cache(batch_size, max_length, memory)
        state = {
            "cache": cache,
            "source_mask": source_mask,
            **_kernel_state(self.target_embedding, self.output_projection),
        }
        if self.pointer_generator is not None:
            state["copy"] = {
                "memory": memory,
                "keys": self.pointer_generator.project_memory(memory),
                "source_tokens": source_tokens,
            }
        return state

    def prompt(self, source_tokens, bos_id):
        """The decoder's prompt: (B, 1) start tokens."""
        batch_size = ops.shape(source_tokens)[0]
        return ops.full((batch_size, 1), bos_id, dtype="int32")

    def encode(self, source_tokens):
        """(B, S, D) encoder output of (B, S) source ids."""
        source_tokens = ops.convert_to_tensor(source_tokens, "int32")
        return self.encoder(
            self.source_embedding(source_tokens),
            padding_mask=ops.not_equal(source_tokens, self.pad_id),
        )

    def logits(self, states, kernel=None):
        """Vocabulary logits (float32) of decoder states (``kernel``: the
        state's ``"logits_kernel"``, when there is one)."""
        return _logits(
            self.target_embedding,
            self.output_projection,
            states,
            kernel,
            self.output_bias,
        )

    def step(self, tokens, state, index):
        """Runs the decoder on ``tokens`` (B, 1) at position ``index``."""
        embedded = self.target_embedding(tokens, start_index=index)
        states, cache = self.decoder(
            embedded,
            encoder_padding_mask=state["source_mask"],
            cache=state["cache"],
            cache_update_index=index,
        )
        logits = self.logits(states, state.get("logits_kernel"))
        if self.pointer_generator is not None:
            copy = state["copy"]
            logits = self.pointer_generator(
                logits,
                states,
                copy["memory"],
                copy["source_tokens"],
                source_mask=state["source_mask"],
                memory_keys=copy["keys"],
            )
        logits = suppress(logits[:, -1], self.suppressed_ids)
        return logits, dict(state, cache=cache)

    def repeat(self, state, k):
        repeated = dict(
            state,
            cache=_repeat_cache(state["cache"], k),
            source_mask=_repeat(state["source_mask"], k),
        )
        if "copy" in state:
            repeated["copy"] = {
                name: _repeat(tensor, k)
                for name, tensor in state["copy"].items()
            }
        return repeated

    def reorder(self, state, indices):
        cache = _reorder_self_attention(state["cache"], indices)
        return dict(state, cache=cache)


class LanguageModelStepper:
    """Cache and one-token steps of a decoder-only language model.

    Args:
        model: a model from ``build_language_model``.

    Example:

    >>> stepper = LanguageModelStepper(model)
    >>> state = stepper.start(None, batch_size=2, max_length=64)
    """

    def __init__(self, model):
        self.model = model
        self.embedding, self.decoder, self.output_projection = _parts(
            model, LANGUAGE_MODEL_PARTS, "language model"
        )
        self.output_bias = getattr(model, "output_bias", None)
        self.suppressed_ids = suppressed(model)

    def prompt(self, inputs, bos_id):
        """The prompt ids themselves (B, P)."""
        del bos_id
        return ops.convert_to_tensor(inputs, "int32")

    def start(self, inputs, batch_size, max_length):
        """An empty cache for ``batch_size`` rows of ``max_length`` tokens."""
        del inputs  # the prompt is fed token by token
        return {
            "cache": self.decoder.init_cache(batch_size, max_length),
            **_kernel_state(self.embedding, self.output_projection),
        }

    def step(self, tokens, state, index):
        embedded = self.embedding(tokens, start_index=index)
        states, cache = self.decoder(
            embedded, cache=state["cache"], cache_update_index=index
        )
        logits = _logits(
            self.embedding,
            self.output_projection,
            states,
            state.get("logits_kernel"),
            self.output_bias,
        )
        logits = suppress(logits[:, -1], self.suppressed_ids)
        return logits, dict(state, cache=cache)

    def repeat(self, state, k):
        return dict(state, cache=_repeat_cache(state["cache"], k))

    def reorder(self, state, indices):
        return dict(
            state, cache=_reorder_self_attention(state["cache"], indices)
        )


def stepper_for(model, pad_id=PAD_ID):
    """The stepper of ``model``: encoder-decoder or language model.

    Chosen by the model's attributes: an ``encoder`` and a ``decoder``
    make an encoder-decoder, a ``decoder`` alone a language model.

    Raises:
        ValueError: when the model has no decoder (e.g. a classifier).
    """
    if getattr(model, "decoder", None) is None:
        raise ValueError(
            f"Model '{getattr(model, 'name', model)}' cannot generate text: "
            "decoding needs a model with a decoder, from "
            "keras_transformer.models (Transformer, LanguageModel) or a "
            "hand-built one with the attributes "
            f"{', '.join(SEQ2SEQ_PARTS)} "
            f"(or {', '.join(LANGUAGE_MODEL_PARTS)})."
        )
    if getattr(model, "encoder", None) is not None:
        return Seq2SeqStepper(model, pad_id=pad_id)
    return LanguageModelStepper(model)
