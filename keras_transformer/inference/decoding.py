"""Autoregressive decoding over a key/value cache, in ``keras.ops``.

The encoder runs once; the decoder then runs on one new token per step,
reading the self-attention keys/values of earlier steps and the
cross-attention keys/values of the encoder output from a fixed-size cache.
Shapes stay static, so the loops compile under XLA
(``tf.function(jit_compile=True)`` or ``jax.jit``) and stop as soon as every
sequence has finished.

Every search writes into one token buffer of shape (B, P + L): the prompt
(``[BOS]`` for a translation model, the prompt tokens for a language model)
followed by up to L generated tokens. Prompt positions are copied, not
chosen, so prompts of different lengths decode in one batch. Searches return
``(tokens, scores)``: (B, L) int32 generated ids (EOS included, then padding)
and (B,) float32 scores, the sum of the generated tokens' log-probabilities
divided by the length penalty of Wu et al. (2016),
``((5 + n) / 6) ** alpha`` for n generated tokens.

Every search also takes ``min_length`` (no EOS before that many generated
tokens) and ``no_repeat_ngram_size`` (no n-gram twice; ``restrict``); both
only restrict the choice, and when they are 0 (the default) the step is
unchanged.
"""

import keras
from keras import ops

from keras_transformer.inference.steppers import stepper_for, suppress
from keras_transformer.special_tokens import BOS_ID, EOS_ID, PAD_ID


def length_penalty(num_tokens, alpha):
    """``((5 + n) / 6) ** alpha`` (Wu et al. 2016, eq. 14), float32.

    Example:

    >>> float(length_penalty(1, 0.6))
    1.0
    """
    num_tokens = ops.cast(num_tokens, "float32")
    return ops.power((5.0 + num_tokens) / 6.0, alpha)


def as_stepper(model_or_stepper, pad_id=PAD_ID):
    """A stepper for a model, or the stepper itself."""
    if hasattr(model_or_stepper, "step"):
        return model_or_stepper
    return stepper_for(model_or_stepper, pad_id=pad_id)


def suppress_special(logits, bos_id, pad_id):
    """Logits with padding and the start token made impossible (-inf).

    Neither is ever a valid next token (both are removed from the training
    labels), so no search may choose them.
    """
    return suppress(logits, (pad_id, bos_id))


def ban_repeated_ngrams(logits, sequences, index, size):
    """Logits with every token that would repeat an n-gram made -inf.

    The next token (at position ``index + 1``) is banned when the last
    ``size - 1`` tokens (positions ``index - size + 2 .. index``) followed
    by it form an n-gram that already occurs in ``sequences[:, :index + 1]``.
    Vectorised over the buffer (every earlier (n-1)-gram is compared with
    the last one at once) and shape-static, so it compiles under XLA.

    Args:
        logits: (R, V) float logits (or log-probabilities) of the next
            token.
        sequences: (R, T) int32 token buffer; positions after ``index``
            are ignored.
        index: scalar int, the position of the last known token.
        size: n (>= 1), a Python int.

    Returns:
        (R, V) ``logits`` with the banned tokens at -inf.

    Example:

    >>> banned = ban_repeated_ngrams(logits, np.array([[2, 5, 6, 5]]), 3, 2)
    >>> # "5 6" occurred before: banned[0, 6] is -inf
    """
    rows = ops.shape(sequences)[0]
    total = ops.shape(sequences)[1]
    vocab_size = ops.shape(logits)[-1]
    width = total - size + 1  # where an n-gram may start
    if isinstance(width, int) and width < 1:
        return logits
    index = ops.convert_to_tensor(index, "int32")
    last = ops.take(
        sequences,
        ops.maximum(index - size + 2 + ops.arange(size - 1, dtype="int32"), 0),
        axis=1,
    )
    starts = ops.arange(width, dtype="int32")
    match = ops.expand_dims(starts <= index - size + 1, 0)
    for offset in range(size - 1):
        window = ops.slice(sequences, (0, offset), (rows, width))
        match = ops.logical_and(match, window == last[:, offset : offset + 1])
    match = ops.broadcast_to(match, (rows, width))
    following = ops.slice(sequences, (0, size - 1), (rows, width))
    row_ids = ops.broadcast_to(
        ops.expand_dims(ops.arange(rows, dtype="int32"), 1), (rows, width)
    )
    indices = ops.reshape(ops.stack([row_ids, following], axis=-1), (-1, 2))
    hits = ops.scatter(
        indices,
        ops.reshape(ops.cast(match, "float32"), (-1,)),
        (rows, vocab_size),
    )
    return ops.where(hits > 0, float("-inf"), logits)


def ban_early_eos(logits, generated, min_length, eos_id):
    """Logits with EOS made -inf in rows with fewer than ``min_length``
    generated tokens.

    Args:
        logits: (R, V) float logits of the next token.
        generated: (R,) or scalar int, tokens generated before it.
        min_length: the fewest tokens before EOS.
        eos_id: the end token.

    Returns:
        (R, V) logits.
    """
    ids = ops.arange(ops.shape(logits)[-1], dtype="int32")
    early = ops.expand_dims(
        ops.convert_to_tensor(generated, "int32") < min_length, -1
    )
    banned = ops.logical_and(early, ops.expand_dims(ids == eos_id, 0))
    return ops.where(banned, float("-inf"), logits)


def restrict(
    logits,
    sequences,
    index,
    generated,
    min_length,
    no_repeat_ngram_size,
    eos_id,
):
    """Applies ``min_length`` and ``no_repeat_ngram_size`` (0: off) to the
    next-token logits; with both off it returns ``logits`` untouched (no
    work is added to the step).

    Args:
        logits: (R, V) logits or log-probabilities.
        sequences: (R, T) token buffer, known up to ``index``.
        index: scalar, the position of the last known token.
        generated: (R,) tokens generated before the next one.
        min_length, no_repeat_ngram_size: the options (Python ints).
        eos_id: the end token.

    Returns:
        (R, V) logits.
    """
    if min_length:
        logits = ban_early_eos(logits, generated, min_length, eos_id)
    if no_repeat_ngram_size:
        logits = ban_repeated_ngrams(
            logits, sequences, index, no_repeat_ngram_size
        )
    return logits


def check_restrictions(min_length, no_repeat_ngram_size):
    for name, value in (
        ("min_length", min_length),
        ("no_repeat_ngram_size", no_repeat_ngram_size),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(
                f"`{name}` must be an int >= 0 (0: off). Received: "
                f"{name}={value!r}"
            )


def check_max_length(max_length):
    if not isinstance(max_length, int) or max_length < 1:
        raise ValueError(
            f"`max_length` must be a positive int (tokens to generate). "
            f"Received: max_length={max_length!r}"
        )


def start(stepper, inputs, max_length, bos_id, pad_id):
    """Prompt buffer, prompt mask, prompt lengths and initial state.

    Returns:
        ``(buffer, fixed, prompt_lengths, state)``: buffer (B, P + L) int32
        with the prompt and padding; fixed (B, P + L) bool, True at prompt
        positions; prompt_lengths (B,) int32 (at least 1); the stepper
        state for P + L positions.
    """
    inputs = ops.convert_to_tensor(inputs, "int32")
    batch_size = ops.shape(inputs)[0]
    prompt = stepper.prompt(inputs, bos_id)
    prompt_lengths = ops.sum(
        ops.cast(ops.not_equal(prompt, pad_id), "int32"), 1
    )
    prompt_lengths = ops.maximum(prompt_lengths, 1)
    padding = ops.full((batch_size, max_length), pad_id, dtype="int32")
    buffer = ops.concatenate([prompt, padding], axis=1)
    total = ops.shape(buffer)[1]
    positions = ops.arange(total, dtype="int32")
    fixed = ops.expand_dims(positions, 0) < ops.expand_dims(prompt_lengths, 1)
    state = stepper.start(inputs, batch_size, total)
    return buffer, fixed, prompt_lengths, state


def end_positions(prompt_lengths, max_length, lengths):
    """(B,) exclusive end of each row's generated positions in the buffer."""
    if lengths is None:
        return prompt_lengths + max_length
    lengths = ops.convert_to_tensor(lengths, "int32")
    return prompt_lengths + ops.clip(lengths, 1, max_length)


def continuations(buffer, prompt_lengths, max_length):
    """(B, L) generated part of each row of the (B, P + L) buffer."""
    offsets = ops.arange(max_length, dtype="int32")
    indices = ops.expand_dims(prompt_lengths, 1) + ops.expand_dims(offsets, 0)
    return ops.take_along_axis(buffer, indices, axis=1)


def column(tensor, index):
    """``tensor[:, index]`` for a tensor ``index`` (static shapes)."""
    return ops.squeeze(
        ops.slice(tensor, (0, index), (ops.shape(tensor)[0], 1)), 1
    )


def token_loop(
    stepper,
    state,
    buffer,
    fixed,
    prompt_lengths,
    ends,
    choose,
    bos_id,
    eos_id,
    pad_id,
    alpha,
    min_length=0,
    no_repeat_ngram_size=0,
):
    """The loop shared by greedy search and sampling.

    Args:
        choose: ``choose(logits, index)`` -> (B,) int32 next tokens from
            (B, V) float32 logits.
        min_length, no_repeat_ngram_size: restrict the choice (see
            ``restrict``); the scores stay the model's log-probabilities.

    Returns:
        ``(buffer, scores)``.
    """
    batch_size = ops.shape(buffer)[0]
    total = ops.shape(buffer)[1]
    finished = ops.zeros((batch_size,), dtype="bool")
    log_probs = ops.zeros((batch_size,), dtype="float32")
    counts = ops.zeros((batch_size,), dtype="int32")

    def cond(index, buffer, state, finished, log_probs, counts):
        running = ops.logical_and(ops.logical_not(finished), index + 1 < ends)
        return ops.logical_and(index < total - 1, ops.any(running))

    def body(index, buffer, state, finished, log_probs, counts):
        current = ops.slice(buffer, (0, index), (batch_size, 1))
        logits, state = stepper.step(current, state, index)
        logits = suppress_special(logits, bos_id, pad_id)
        target = index + 1
        allowed = restrict(
            logits,
            buffer,
            index,
            target - prompt_lengths,
            min_length,
            no_repeat_ngram_size,
            eos_id,
        )
        chosen = ops.cast(choose(allowed, index), "int32")
        forced = column(fixed, target)
        generating = ops.logical_and(
            ops.logical_and(ops.logical_not(finished), target < ends),
            ops.logical_not(forced),
        )
        token = ops.where(
            forced,
            column(buffer, target),
            ops.where(generating, chosen, pad_id),
        )
        token_log_prob = ops.take_along_axis(
            ops.log_softmax(logits, axis=-1),
            ops.expand_dims(chosen, 1),
            axis=1,
        )[:, 0]
        log_probs = log_probs + ops.where(generating, token_log_prob, 0.0)
        counts = counts + ops.cast(generating, "int32")
        buffer = ops.slice_update(
            buffer, (0, target), ops.expand_dims(token, 1)
        )
        finished = ops.logical_or(
            finished, ops.logical_and(generating, chosen == eos_id)
        )
        return index + 1, buffer, state, finished, log_probs, counts

    index = ops.convert_to_tensor(0, "int32")
    _, buffer, _, _, log_probs, counts = ops.while_loop(
        cond, body, (index, buffer, state, finished, log_probs, counts)
    )
    return buffer, log_probs / length_penalty(counts, alpha)


def greedy_decode(
    model,
    inputs,
    max_length,
    lengths=None,
    length_penalty=0.0,
    min_length=0,
    no_repeat_ngram_size=0,
    bos_id=BOS_ID,
    eos_id=EOS_ID,
    pad_id=PAD_ID,
):
    """Greedy search with the key/value cache.

    Args:
        model: a model from ``build_transformer`` or ``build_language_model``
            (or a stepper, see ``keras_transformer.inference.steppers``).
        inputs: (B, S) int source ids (0 = padding) for a translation
            model; (B, P) right-padded prompt ids for a language model
            (every prompt at least one token).
        max_length: L, the number of tokens to generate at most.
        lengths: optional (B,) per-row limits (<= L), so that a sentence
            decodes the same alone or in any batch.
        length_penalty: alpha of the score's length normalisation (the
            tokens chosen do not depend on it).
        min_length: no EOS before this many generated tokens.
        no_repeat_ngram_size: n > 0: never generate an n-gram that is
            already in the sequence (0: off).
        bos_id: the start token of a translation model's target.
        eos_id: the end token; a finished sequence is padded after it.
        pad_id: the padding id.

    Returns:
        ``(tokens, scores)``: (B, L) int32 generated ids (EOS included,
        then padding) and (B,) float32 length-normalised log-probabilities.

    Example:

    >>> tokens, scores = greedy_decode(model, np.array([[45, 12, 3]]), 20)
    """
    check_max_length(max_length)
    check_restrictions(min_length, no_repeat_ngram_size)
    stepper = as_stepper(model, pad_id)
    buffer, fixed, prompt_lengths, state = start(
        stepper, inputs, max_length, bos_id, pad_id
    )

    def choose(logits, index):
        return ops.argmax(logits, axis=-1)

    buffer, scores = token_loop(
        stepper,
        state,
        buffer,
        fixed,
        prompt_lengths,
        end_positions(prompt_lengths, max_length, lengths),
        choose,
        bos_id,
        eos_id,
        pad_id,
        length_penalty,
        min_length,
        no_repeat_ngram_size,
    )
    return continuations(buffer, prompt_lengths, max_length), scores


def greedy_decode_uncached(
    model,
    source_tokens,
    max_length,
    bos_id=BOS_ID,
    eos_id=EOS_ID,
    pad_id=PAD_ID,
    forward=None,
    min_length=0,
    no_repeat_ngram_size=0,
):
    """Greedy decoding that re-runs the whole model on the prefix each step.

    The slow reference (what the TensorFlow tutorial does: encoder and
    decoder over the growing prefix at every step); gives exactly the tokens
    of ``greedy_decode`` for a translation model.

    Args:
        forward: optional compiled ``forward(source, target) -> logits``;
            defaults to calling ``model``.
        min_length, no_repeat_ngram_size: as in ``greedy_decode``.

    Returns:
        (B, L) int32 generated ids.
    """
    if forward is None:

        def forward(source, target):
            return model({"source_tokens": source, "target_tokens": target})

    source_tokens = ops.convert_to_tensor(source_tokens, "int32")
    batch_size = ops.shape(source_tokens)[0]
    tokens = ops.full((batch_size, 1), bos_id, dtype="int32")
    finished = ops.zeros((batch_size,), dtype="bool")
    check_restrictions(min_length, no_repeat_ngram_size)
    for step in range(max_length):
        logits = forward(source_tokens, tokens)[:, -1]
        logits = suppress_special(logits, bos_id, pad_id)
        logits = restrict(
            logits,
            tokens,
            step,
            step,
            min_length,
            no_repeat_ngram_size,
            eos_id,
        )
        chosen = ops.cast(ops.argmax(logits, axis=-1), "int32")
        chosen = ops.where(finished, pad_id, chosen)
        tokens = ops.concatenate([tokens, ops.expand_dims(chosen, 1)], 1)
        finished = ops.logical_or(finished, chosen == eos_id)
    return tokens[:, 1:]


STATIC_ARGUMENTS = (
    "max_length",
    "length_penalty",
    "min_length",
    "no_repeat_ngram_size",
    "beam_size",
    "temperature",
    "top_k",
    "top_p",
    "seed",
    "bos_id",
    "eos_id",
    "pad_id",
)


_COMPILED = {}


def compile_decoder(fn, jit_compile=False):
    """Wraps a decoding function for the active backend's graph compiler.

    TensorFlow: ``tf.function`` (``jit_compile`` for XLA); JAX: ``jax.jit``
    with the model and the hyperparameters static; other backends:
    unchanged. The wrapper is made once per function, setting and backend,
    so every ``Translator`` shares its traces.

    Example:

    >>> decode = compile_decoder(beam_search, jit_compile=True)
    >>> tokens, scores = decode(model, source, max_length=40, beam_size=4)
    """
    backend = keras.backend.backend()
    key = (fn, bool(jit_compile), backend)
    if key not in _COMPILED:
        _COMPILED[key] = _compile(fn, jit_compile, backend)
    return _COMPILED[key]


def _compile(fn, jit_compile, backend):
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(
            fn, jit_compile=jit_compile, reduce_retracing=True, autograph=False
        )
    if backend == "jax":
        import inspect

        import jax

        names = [
            name
            for name in STATIC_ARGUMENTS
            if name in inspect.signature(fn).parameters
        ]
        return jax.jit(fn, static_argnums=(0,), static_argnames=names)
    return fn
