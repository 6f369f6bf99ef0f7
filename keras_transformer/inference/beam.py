"""Batched beam search with the length penalty of Wu et al. (2016)."""

from keras import ops

from keras_transformer.inference import decoding
from keras_transformer.special_tokens import BOS_ID, EOS_ID, PAD_ID

# Score of an empty slot: no hypothesis. -inf is exact in float32 and never
# meets +inf, so sums and maxima stay well defined.
_EMPTY = float("-inf")


def _gather_rows(sequences, indices):
    """(B, M, T) rows of (B, K, T) ``sequences`` at (B, M) beam indices."""
    batch_size = ops.shape(sequences)[0]
    beams = ops.shape(sequences)[1]
    offsets = ops.arange(batch_size, dtype="int32") * beams
    flat = ops.reshape(sequences, (batch_size * beams, -1))
    return ops.take(flat, indices + ops.expand_dims(offsets, 1), axis=0)


def beam_search(
    model,
    inputs,
    max_length,
    beam_size=4,
    length_penalty=0.6,
    lengths=None,
    min_length=0,
    no_repeat_ngram_size=0,
    bos_id=BOS_ID,
    eos_id=EOS_ID,
    pad_id=PAD_ID,
):
    """Beam search over the key/value cache, batched and XLA-compilable.

    Each step extends every live hypothesis by every token, keeps the
    2K best candidates, moves those that end (EOS, or the row's length
    limit) and rank among the K best to the finished set, scored
    ``log p / ((5 + n) / 6) ** alpha``, and keeps the K best that did not
    end alive. A row stops when its best finished score cannot be beaten
    by any live hypothesis (log-probabilities only fall, the penalty is
    largest at the length limit). With ``beam_size=1`` and
    ``length_penalty=0`` it returns exactly the greedy output.

    Args:
        model: a translation or language model, or a stepper (see
            ``greedy_decode``).
        inputs: (B, S) source ids or (B, P) prompt ids.
        max_length: L, tokens to generate at most (the paper: input length
            + 50; pass per-row ``lengths`` for that).
        beam_size: K.
        length_penalty: alpha (the paper: 0.6); 0 ranks by log-probability.
        lengths: optional (B,) per-row limits (<= L).
        min_length: no hypothesis ends (EOS) before this many tokens.
        no_repeat_ngram_size: n > 0: no hypothesis contains an n-gram
            twice (0: off). Banned extensions get -inf; the scores of the
            others stay the model's log-probabilities.
        bos_id, eos_id, pad_id: special ids.

    Returns:
        ``(tokens, scores)``: (B, L) int32 ids of the best hypothesis (EOS
        included, then padding) and (B,) float32 its length-normalised
        log-probability.

    Example:

    >>> tokens, scores = beam_search(model, source, max_length=60,
    ...                              beam_size=4, length_penalty=0.6)
    """
    decoding.check_max_length(max_length)
    decoding.check_restrictions(min_length, no_repeat_ngram_size)
    if not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(
            f"`beam_size` must be a positive int. Received: {beam_size!r}"
        )
    if length_penalty < 0:
        raise ValueError(
            f"`length_penalty` must be >= 0. Received: {length_penalty}"
        )
    stepper = decoding.as_stepper(model, pad_id)
    buffer, fixed, prompt_lengths, state = decoding.start(
        stepper, inputs, max_length, bos_id, pad_id
    )
    ends = decoding.end_positions(prompt_lengths, max_length, lengths)
    k = beam_size
    batch_size = ops.shape(buffer)[0]
    total = ops.shape(buffer)[1]
    positions = ops.arange(total, dtype="int32")

    alive_seqs = ops.repeat(ops.expand_dims(buffer, 1), k, axis=1)
    alive_scores = ops.concatenate(
        [
            ops.zeros((batch_size, 1), "float32"),
            ops.full((batch_size, k - 1), _EMPTY, "float32"),
        ],
        axis=1,
    )
    finished_seqs = alive_seqs
    finished_scores = ops.full((batch_size, k), _EMPTY, "float32")
    state = stepper.repeat(state, k)
    best_penalty = decoding.length_penalty(
        ends - prompt_lengths, length_penalty
    )
    in_top_k = ops.expand_dims(ops.arange(2 * k) < k, 0)

    def cond(
        index, alive_seqs, alive_scores, finished_seqs, finished_scores, state
    ):
        # The best any live hypothesis can still reach.
        reachable = alive_scores[:, 0] / best_penalty
        open_rows = ops.logical_and(
            index + 1 < ends, finished_scores[:, 0] < reachable
        )
        return ops.logical_and(index < total - 1, ops.any(open_rows))

    def body(
        index, alive_seqs, alive_scores, finished_seqs, finished_scores, state
    ):
        tokens = ops.reshape(
            ops.slice(alive_seqs, (0, 0, index), (batch_size, k, 1)), (-1, 1)
        )
        logits, state = stepper.step(tokens, state, index)
        logits = decoding.suppress_special(logits, bos_id, pad_id)
        vocab_size = logits.shape[-1]
        target = index + 1
        log_probs = ops.log_softmax(logits, axis=-1)
        if min_length or no_repeat_ngram_size:
            log_probs = decoding.restrict(
                log_probs,
                ops.reshape(alive_seqs, (batch_size * k, total)),
                index,
                ops.repeat(target - prompt_lengths, k, axis=0),
                min_length,
                no_repeat_ngram_size,
                eos_id,
            )
        log_probs = ops.reshape(log_probs, (-1, k, vocab_size))
        # Prompt positions: the given token, at no cost.
        forced = decoding.column(fixed, target)
        given = decoding.column(buffer, target)
        forced_log_probs = ops.where(
            ops.one_hot(given, vocab_size, dtype="float32") > 0, 0.0, _EMPTY
        )
        log_probs = ops.where(
            forced[:, None, None], forced_log_probs[:, None, :], log_probs
        )
        candidates = ops.reshape(
            ops.expand_dims(alive_scores, 2) + log_probs, (-1, k * vocab_size)
        )
        top_scores, top_indices = ops.top_k(candidates, 2 * k)
        top_indices = ops.cast(top_indices, "int32")
        beams = top_indices // vocab_size
        new_tokens = top_indices % vocab_size
        seqs = _gather_rows(alive_seqs, beams)
        seqs = ops.where(
            positions[None, None, :] == target, new_tokens[:, :, None], seqs
        )

        active = target < ends
        last = target == ends - 1
        ends_here = ops.logical_and(
            new_tokens == eos_id, ops.logical_not(forced[:, None])
        )
        finalize = ops.logical_or(ends_here, last[:, None])
        finalize = ops.logical_and(finalize, in_top_k)
        finalize = ops.logical_and(finalize, active[:, None])
        finalize = ops.logical_and(finalize, top_scores > _EMPTY)
        generated = target + 1 - prompt_lengths
        penalty = decoding.length_penalty(generated, length_penalty)
        new_finished = ops.where(
            finalize, top_scores / penalty[:, None], _EMPTY
        )
        all_scores = ops.concatenate([finished_scores, new_finished], axis=1)
        all_seqs = ops.concatenate([finished_seqs, seqs], axis=1)
        kept_scores, kept = ops.top_k(all_scores, k)
        kept_seqs = _gather_rows(all_seqs, ops.cast(kept, "int32"))

        live = ops.where(ends_here, _EMPTY, top_scores)
        live_scores, live_indices = ops.top_k(live, k)
        live_indices = ops.cast(live_indices, "int32")
        live_seqs = _gather_rows(seqs, live_indices)
        parents = ops.take_along_axis(beams, live_indices, axis=1)
        offsets = ops.expand_dims(ops.arange(batch_size, dtype="int32") * k, 1)
        state = stepper.reorder(state, ops.reshape(parents + offsets, (-1,)))

        keep = active[:, None]
        finished_scores = ops.where(keep, kept_scores, finished_scores)
        finished_seqs = ops.where(keep[:, :, None], kept_seqs, finished_seqs)
        alive_scores = ops.where(keep, live_scores, _EMPTY)
        alive_seqs = ops.where(keep[:, :, None], live_seqs, alive_seqs)
        return (
            index + 1,
            alive_seqs,
            alive_scores,
            finished_seqs,
            finished_scores,
            state,
        )

    index = ops.convert_to_tensor(0, "int32")
    _, alive_seqs, alive_scores, finished_seqs, finished_scores, _ = (
        ops.while_loop(
            cond,
            body,
            (
                index,
                alive_seqs,
                alive_scores,
                finished_seqs,
                finished_scores,
                state,
            ),
        )
    )
    found = finished_scores[:, 0] > _EMPTY
    best = ops.where(found[:, None], finished_seqs[:, 0], alive_seqs[:, 0])
    scores = ops.where(
        found,
        finished_scores[:, 0],
        alive_scores[:, 0] / best_penalty,
    )
    return decoding.continuations(best, prompt_lengths, max_length), scores
