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
    search = _BeamSearch(
        decoding.as_stepper(model, pad_id),
        inputs,
        max_length,
        beam_size,
        length_penalty,
        lengths,
        (min_length, no_repeat_ngram_size),
        (bos_id, eos_id, pad_id),
    )
    return search.run()


class _BeamSearch:
    """The loop of ``beam_search``: its constants, and one method per part
    of a step. The loop carries ``(index, alive_seqs, alive_scores,
    finished_seqs, finished_scores, state)``: K live and K finished
    hypotheses per row, (B, K, total) ids and (B, K) scores."""

    def __init__(
        self, stepper, inputs, max_length, k, alpha, lengths, limits, ids
    ):
        self.stepper, self.k, self.alpha = stepper, k, alpha
        self.min_length, self.no_repeat_ngram_size = limits
        self.bos_id, self.eos_id, self.pad_id = ids
        self.max_length = max_length
        self.buffer, self.fixed, self.prompt_lengths, self.state = (
            decoding.start(stepper, inputs, max_length, self.bos_id, ids[2])
        )
        self.ends = decoding.end_positions(
            self.prompt_lengths, max_length, lengths
        )
        self.batch_size = ops.shape(self.buffer)[0]
        self.total = ops.shape(self.buffer)[1]
        self.positions = ops.arange(self.total, dtype="int32")
        # The penalty at the length limit, the largest a row can reach.
        self.best_penalty = decoding.length_penalty(
            self.ends - self.prompt_lengths, alpha
        )
        self.in_top_k = ops.expand_dims(ops.arange(2 * k) < k, 0)

    def run(self):
        """``(tokens, scores)`` of the best hypothesis of every row."""
        k, batch_size = self.k, self.batch_size
        alive_seqs = ops.repeat(ops.expand_dims(self.buffer, 1), k, axis=1)
        alive_scores = ops.concatenate(
            [
                ops.zeros((batch_size, 1), "float32"),
                ops.full((batch_size, k - 1), _EMPTY, "float32"),
            ],
            axis=1,
        )
        finished_scores = ops.full((batch_size, k), _EMPTY, "float32")
        state = self.stepper.repeat(self.state, k)
        index = ops.convert_to_tensor(0, "int32")
        loop = (index, alive_seqs, alive_scores, alive_seqs, finished_scores)
        _, alive_seqs, alive_scores, finished_seqs, finished_scores, _ = (
            ops.while_loop(self.cond, self.body, loop + (state,))
        )
        found = finished_scores[:, 0] > _EMPTY
        best = ops.where(found[:, None], finished_seqs[:, 0], alive_seqs[:, 0])
        scores = ops.where(
            found,
            finished_scores[:, 0],
            alive_scores[:, 0] / self.best_penalty,
        )
        tokens = decoding.continuations(
            best, self.prompt_lengths, self.max_length
        )
        return tokens, scores

    def cond(
        self,
        index,
        alive_seqs,
        alive_scores,
        finished_seqs,
        finished_scores,
        state,
    ):
        """Whether a row is still open: its best finished score can be
        beaten by the best any live hypothesis can still reach."""
        reachable = alive_scores[:, 0] / self.best_penalty
        open_rows = ops.logical_and(
            index + 1 < self.ends, finished_scores[:, 0] < reachable
        )
        return ops.logical_and(index < self.total - 1, ops.any(open_rows))

    def body(
        self,
        index,
        alive_seqs,
        alive_scores,
        finished_seqs,
        finished_scores,
        state,
    ):
        """One step: extend, finish the hypotheses that end, keep the K
        best live ones."""
        log_probs, state = self.log_probs(index, alive_seqs, state)
        top_scores, beams, new_tokens, seqs = self.extend(
            index, alive_seqs, alive_scores, log_probs
        )
        target = index + 1
        active = target < self.ends
        ends_here = ops.logical_and(
            new_tokens == self.eos_id,
            ops.logical_not(decoding.column(self.fixed, target)[:, None]),
        )
        kept_seqs, kept_scores = self.finish(
            target,
            active,
            ends_here,
            top_scores,
            seqs,
            finished_seqs,
            finished_scores,
        )
        live_seqs, live_scores, state = self.keep_alive(
            ends_here, top_scores, beams, seqs, state
        )
        keep = active[:, None]
        return (
            index + 1,
            ops.where(keep[:, :, None], live_seqs, alive_seqs),
            ops.where(keep, live_scores, _EMPTY),
            ops.where(keep[:, :, None], kept_seqs, finished_seqs),
            ops.where(keep, kept_scores, finished_scores),
            state,
        )

    def log_probs(self, index, alive_seqs, state):
        """(B, K, V) log-probabilities of every next token: the model's,
        restricted (``min_length``, ``no_repeat_ngram_size``), and 0 for
        the given token at a prompt position."""
        k, batch_size = self.k, self.batch_size
        tokens = ops.reshape(
            ops.slice(alive_seqs, (0, 0, index), (batch_size, k, 1)), (-1, 1)
        )
        logits, state = self.stepper.step(tokens, state, index)
        logits = decoding.suppress_special(logits, self.bos_id, self.pad_id)
        vocab_size = logits.shape[-1]
        target = index + 1
        log_probs = ops.log_softmax(logits, axis=-1)
        if self.min_length or self.no_repeat_ngram_size:
            log_probs = decoding.restrict(
                log_probs,
                ops.reshape(alive_seqs, (batch_size * k, self.total)),
                index,
                ops.repeat(target - self.prompt_lengths, k, axis=0),
                self.min_length,
                self.no_repeat_ngram_size,
                self.eos_id,
            )
        log_probs = ops.reshape(log_probs, (-1, k, vocab_size))
        forced = decoding.column(self.fixed, target)
        given = decoding.column(self.buffer, target)
        forced_log_probs = ops.where(
            ops.one_hot(given, vocab_size, dtype="float32") > 0, 0.0, _EMPTY
        )
        log_probs = ops.where(
            forced[:, None, None], forced_log_probs[:, None, :], log_probs
        )
        return log_probs, state

    def extend(self, index, alive_seqs, alive_scores, log_probs):
        """The 2K best extensions of the live hypotheses: their scores,
        parent beams, new tokens and (B, 2K, total) sequences."""
        vocab_size = log_probs.shape[-1]
        candidates = ops.reshape(
            ops.expand_dims(alive_scores, 2) + log_probs,
            (-1, self.k * vocab_size),
        )
        top_scores, top_indices = ops.top_k(candidates, 2 * self.k)
        top_indices = ops.cast(top_indices, "int32")
        beams = top_indices // vocab_size
        new_tokens = top_indices % vocab_size
        seqs = _gather_rows(alive_seqs, beams)
        seqs = ops.where(
            self.positions[None, None, :] == index + 1,
            new_tokens[:, :, None],
            seqs,
        )
        return top_scores, beams, new_tokens, seqs

    def finish(
        self, target, active, ends_here, top_scores, seqs, seqs_, scores_
    ):
        """The K best finished hypotheses (``seqs_``, ``scores_``) with
        the extensions that end here (EOS, or the row's length limit)
        and rank among the K best, scored with the length penalty."""
        last = target == self.ends - 1
        finalize = ops.logical_or(ends_here, last[:, None])
        finalize = ops.logical_and(finalize, self.in_top_k)
        finalize = ops.logical_and(finalize, active[:, None])
        finalize = ops.logical_and(finalize, top_scores > _EMPTY)
        generated = target + 1 - self.prompt_lengths
        penalty = decoding.length_penalty(generated, self.alpha)
        new_finished = ops.where(
            finalize, top_scores / penalty[:, None], _EMPTY
        )
        all_scores = ops.concatenate([scores_, new_finished], axis=1)
        all_seqs = ops.concatenate([seqs_, seqs], axis=1)
        kept_scores, kept = ops.top_k(all_scores, self.k)
        return _gather_rows(all_seqs, ops.cast(kept, "int32")), kept_scores

    def keep_alive(self, ends_here, top_scores, beams, seqs, state):
        """The K best extensions that did not end, and the cache reordered
        to their parents."""
        live = ops.where(ends_here, _EMPTY, top_scores)
        live_scores, live_indices = ops.top_k(live, self.k)
        live_indices = ops.cast(live_indices, "int32")
        live_seqs = _gather_rows(seqs, live_indices)
        parents = ops.take_along_axis(beams, live_indices, axis=1)
        offsets = ops.arange(self.batch_size, dtype="int32") * self.k
        state = self.stepper.reorder(
            state, ops.reshape(parents + ops.expand_dims(offsets, 1), (-1,))
        )
        return live_seqs, live_scores, state
