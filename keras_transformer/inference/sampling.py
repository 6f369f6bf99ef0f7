"""Sampling with temperature, top-k and top-p (nucleus), seedable."""

import keras
from keras import ops

from keras_transformer.inference import decoding
from keras_transformer.special_tokens import BOS_ID, EOS_ID, PAD_ID


def _check(temperature, top_k, top_p):
    if not temperature > 0:
        raise ValueError(
            f"`temperature` must be > 0 (use greedy_decode for "
            f"temperature 0). Received: temperature={temperature}"
        )
    if not isinstance(top_k, int) or top_k < 0:
        raise ValueError(
            f"`top_k` must be an int >= 0 (0 = no limit). Received: "
            f"top_k={top_k!r}"
        )
    if not 0 < top_p <= 1:
        raise ValueError(
            f"`top_p` must be in (0, 1] (1 = no limit). Received: top_p={top_p}"
        )


def sample_tokens(logits, uniform, temperature=1.0, top_k=0, top_p=1.0):
    """Draws one token per row from filtered, tempered logits.

    Sampling inverts the cumulative distribution at ``uniform``, so the
    randomness is one number per row and the draw is reproducible.

    Args:
        logits: (B, V) float logits.
        uniform: (B,) numbers in [0, 1).
        temperature: logits are divided by it (> 0).
        top_k: keep only the k most likely tokens (0 = all).
        top_p: keep the smallest set of most likely tokens whose
            probability reaches ``top_p`` (1 = all).

    Returns:
        (B,) int32 token ids.

    Example:

    >>> sample_tokens(np.log([[0.1, 0.9]]), np.array([0.5]))
    [1]
    """
    _check(temperature, top_k, top_p)
    if top_k == 1:  # only the most likely token is left
        return ops.cast(ops.argmax(logits, axis=-1), "int32")
    logits = ops.cast(logits, "float32") / temperature
    vocab_size = logits.shape[-1]
    indices = None
    if top_k or top_p < 1.0:
        k = min(top_k, vocab_size) if top_k else vocab_size
        logits, indices = ops.top_k(logits, k)  # sorted, most likely first
    probs = ops.softmax(logits, axis=-1)
    if top_p < 1.0:
        before = ops.cumsum(probs, axis=-1) - probs
        probs = ops.where(before < top_p, probs, 0.0)
    cdf = ops.cumsum(probs, axis=-1)
    uniform = ops.cast(uniform, "float32")
    threshold = ops.expand_dims(uniform, 1) * cdf[:, -1:]
    position = ops.sum(ops.cast(cdf <= threshold, "int32"), axis=-1)
    position = ops.minimum(position, ops.shape(probs)[-1] - 1)
    if indices is None:
        return position
    return ops.take_along_axis(indices, ops.expand_dims(position, 1), axis=1)[
        :, 0
    ]


def sample(
    model,
    inputs,
    max_length,
    temperature=1.0,
    top_k=0,
    top_p=1.0,
    seed=None,
    lengths=None,
    length_penalty=0.0,
    min_length=0,
    no_repeat_ngram_size=0,
    bos_id=BOS_ID,
    eos_id=EOS_ID,
    pad_id=PAD_ID,
):
    """Samples continuations with temperature, top-k and top-p.

    Args:
        model: a translation or language model, or a stepper (see
            ``greedy_decode``).
        inputs: source ids or prompt ids (see ``greedy_decode``).
        max_length: L, tokens to generate at most.
        temperature: positive; below 1 sharpens, above 1 flattens.
        top_k: sample among the k most likely tokens (0 = all); top_k=1 is
            greedy search.
        top_p: nucleus sampling threshold (1 = off).
        seed: an int (same seed, same inputs -> same output) or a
            ``keras.random.SeedGenerator``; None draws from Keras' global
            generator (an int is needed under ``jax.jit``).
        lengths, length_penalty, min_length: as in ``greedy_decode``.
        no_repeat_ngram_size, bos_id, eos_id, pad_id: as in
            ``greedy_decode`` (the options restrict the draw; scores stay
            the model's).

    Returns:
        ``(tokens, scores)``: (B, L) int32 ids and (B,) float32 scores
        (log-probabilities under the model, before temperature and
        filtering, divided by the length penalty).

    Example:

    >>> tokens, _ = sample(lm, prompt_ids, 100, temperature=0.8, top_p=0.9,
    ...                    seed=1)
    """
    decoding.check_max_length(max_length)
    _check(temperature, top_k, top_p)
    decoding.check_restrictions(min_length, no_repeat_ngram_size)
    stepper = decoding.as_stepper(model, pad_id)
    buffer, fixed, prompt_lengths, state = decoding.start(
        stepper, inputs, max_length, bos_id, pad_id
    )
    uniforms = keras.random.uniform(
        (ops.shape(buffer)[1], ops.shape(buffer)[0]), seed=seed
    )

    def choose(logits, index):
        uniform = ops.take(uniforms, index, axis=0)
        return sample_tokens(logits, uniform, temperature, top_k, top_p)

    buffer, scores = decoding.token_loop(
        stepper,
        state,
        buffer,
        fixed,
        prompt_lengths,
        decoding.end_positions(prompt_lengths, max_length, lengths),
        choose,
        bos_id,
        eos_id,
        pad_id,
        length_penalty,
        min_length,
        no_repeat_ngram_size,
    )
    return decoding.continuations(buffer, prompt_lengths, max_length), scores
