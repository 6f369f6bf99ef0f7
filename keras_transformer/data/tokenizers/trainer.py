"""``train_sentencepiece``: a SentencePiece model trained on texts, with
the special ids of every tokenizer of this package."""

import io
import random
import re

import numpy as np
import sentencepiece as spm
import tensorflow as tf

# Importing tensorflow_text registers its ops; the SentencePiece ones are
# used directly (see _SentencePieceResource for why).
from keras_transformer.data.tokenizers.sentencepiece import (
    SentencePieceTokenizer,
)
from keras_transformer.special_tokens import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    SPECIAL_PIECES,
    UNK_ID,
)

#: The model types :func:`train_sentencepiece` accepts.
MODEL_TYPES = ("unigram", "bpe")


def _as_text(item, index):
    """One training sentence as str (str, bytes or a tf/np string)."""
    if tf.is_tensor(item):
        item = item.numpy()
    if isinstance(item, np.ndarray) and item.ndim == 0:
        item = item.item()
    if isinstance(item, (bytes, np.bytes_)):
        try:
            return bytes(item).decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"texts[{index}] is bytes that are not UTF-8 ({error}). "
                "Decode the text to str first."
            ) from error
    if isinstance(item, str):
        return str(item)
    raise ValueError(
        f"texts must contain strings; texts[{index}] is a "
        f"{type(item).__name__}: {item!r:.100}."
    )


def _sample(texts, max_sentences, seed):
    """Reservoir-samples at most ``max_sentences`` non-blank texts.

    One pass over ``texts`` (so generators work), memory for
    ``max_sentences`` texts, the same sample for the same ``seed``, kept in
    input order. All texts are kept when there are few enough.
    """
    rng = random.Random(seed)
    reservoir = []
    count = 0
    for index, item in enumerate(texts):
        text = _as_text(item, index)
        if not text.strip():
            continue
        if count < max_sentences:
            reservoir.append((count, text))
        else:
            slot = rng.randrange(count + 1)
            if slot < max_sentences:
                reservoir[slot] = (count, text)
        count += 1
    reservoir.sort()
    return [text for _, text in reservoir]


def train_sentencepiece(
    texts,
    vocab_size,
    model_type="unigram",
    character_coverage=1.0,
    max_sentences=1_000_000,
    seed=0,
    user_defined_symbols=(),
    split_digits=False,
):
    """Trains a SentencePiece model in memory (no files, no logs).

    The model uses ``pad_id=0, unk_id=1, bos_id=2, eos_id=3`` and the
    default ``nmt_nfkc`` normalization (see :class:`SentencePieceTokenizer`
    for what the round trip keeps). ``vocab_size`` is a hard limit: the
    model has exactly ``vocab_size`` pieces (so embedding sizes computed
    from it are right), and data too small for it is an error rather than a
    silently smaller vocabulary. The same ``texts``, arguments and ``seed``
    give the same model bytes.

    Args:
        texts: any iterable of ``str`` (``bytes`` are read as UTF-8), e.g.
            a list or a generator; read once. Blank texts are skipped.
        vocab_size: number of pieces, special ids included.
        model_type: ``"unigram"`` or ``"bpe"``.
        character_coverage: fraction of the characters (by frequency) that
            get their own piece, in (0, 1]; the rarest others become UNK.
            1.0 for small alphabets, ~0.9995 for Chinese or Japanese.
        max_sentences: at most this many texts are used, a reservoir sample
            (uniform over ``texts``, fixed by ``seed``, in input order).
        seed: seed of the sampling and of SentencePiece's random generator.
        user_defined_symbols: strings that are always one piece each
            (e.g. ``["<sep>"]``); they get the ids after the 4 special ids.
        split_digits: make every digit its own piece (numbers are then
            read digit by digit, which helps numeric tasks).

    Returns:
        A :class:`SentencePieceTokenizer`.

    Raises:
        ValueError: for bad arguments, no text, or a ``vocab_size`` the
            data cannot fill (the message gives the largest possible one).

    Example:

    >>> sentences = [
    ...     "the quick brown fox jumps over the lazy dog",
    ...     "she sells sea shells by the sea shore",
    ... ] * 50
    >>> tokenizer = train_sentencepiece(sentences, vocab_size=32)
    >>> tokenizer.detokenize(tokenizer.tokenize("the dog sat")).numpy()
    b'the dog sat'
    """
    symbols = _check_arguments(
        texts,
        vocab_size,
        model_type,
        character_coverage,
        max_sentences,
        seed,
        user_defined_symbols,
    )
    sentences = _sample(texts, max_sentences, seed)
    if not sentences:
        raise ValueError(
            "train_sentencepiece() got no text: `texts` is empty or blank. "
            "Pass the training sentences."
        )
    options = dict(
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=float(character_coverage),
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=EOS_ID,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        hard_vocab_limit=True,
        split_digits=bool(split_digits),
        minloglevel=2,
    )
    if symbols:
        options["user_defined_symbols"] = symbols
    model = _train(sentences, seed, options)
    return SentencePieceTokenizer(model)


def _check_arguments(
    texts,
    vocab_size,
    model_type,
    character_coverage,
    max_sentences,
    seed,
    user_defined_symbols,
):
    """Refuses bad arguments of ``train_sentencepiece`` with a message
    naming each; returns the user-defined symbols as a list."""
    if isinstance(texts, (str, bytes)):
        raise ValueError(
            "`texts` must be an iterable of sentences, not a single string. "
            "Pass a list (or generator) of str, e.g. [text]."
        )
    if model_type not in MODEL_TYPES:
        raise ValueError(
            f"`model_type` must be one of {list(MODEL_TYPES)}. Received: "
            f"model_type={model_type!r}"
        )
    symbols = _checked_symbols(user_defined_symbols)
    minimum = len(SPECIAL_PIECES) + len(symbols) + 1
    if not _is_int(vocab_size) or vocab_size < minimum:
        raise ValueError(
            f"`vocab_size` must be an int >= {minimum} (4 special ids, "
            f"{len(symbols)} user-defined symbols and at least one piece). "
            f"Received: vocab_size={vocab_size!r}"
        )
    if (
        isinstance(character_coverage, bool)
        or not isinstance(character_coverage, (int, float))
        or not 0.0 < character_coverage <= 1.0
    ):
        raise ValueError(
            "`character_coverage` must be a float in (0, 1]. Received: "
            f"character_coverage={character_coverage!r}"
        )
    if not _is_int(max_sentences) or max_sentences <= 0:
        raise ValueError(
            "`max_sentences` must be a positive int. Received: "
            f"max_sentences={max_sentences!r}"
        )
    if not _is_int(seed) or seed < 0:
        raise ValueError(
            f"`seed` must be a non-negative int. Received: seed={seed!r}"
        )
    return symbols


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_symbols(user_defined_symbols):
    """The user-defined symbols as a list, refused unless they are
    distinct non-empty strings other than the special pieces."""
    if isinstance(user_defined_symbols, str):
        raise ValueError(
            "`user_defined_symbols` must be a list of strings, not one "
            f"string. Received: {user_defined_symbols!r}; pass "
            f"[{user_defined_symbols!r}]."
        )
    symbols = list(user_defined_symbols)
    for symbol in symbols:
        if not isinstance(symbol, str) or not symbol:
            raise ValueError(
                "`user_defined_symbols` must contain non-empty strings. "
                f"Received: {symbols!r}"
            )
    if len(set(symbols)) != len(symbols) or set(symbols) & set(SPECIAL_PIECES):
        raise ValueError(
            "`user_defined_symbols` must be distinct and must not repeat "
            f"the special pieces {list(SPECIAL_PIECES)}. Received: "
            f"{symbols!r}"
        )
    return symbols


def _train(sentences, seed, options):
    """The serialized model SentencePiece trains on ``sentences``; its
    errors on a ``vocab_size`` that does not fit the data become messages
    that name the fix."""
    vocab_size = options["vocab_size"]
    spm.set_random_generator_seed(seed)
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences), model_writer=model, **options
        )
    except RuntimeError as error:
        message = str(error)
        if "Vocabulary size too high" in message:
            limit = re.search(r"<=\s*(\d+)", message)
            hint = f"vocab_size <= {limit.group(1)}" if limit else "less"
            raise ValueError(
                f"vocab_size={vocab_size} is too high for this training "
                f"data ({len(sentences)} sentences): SentencePiece cannot "
                f"find that many pieces in it. Pass a smaller `vocab_size` "
                f"({hint}) or train on more text."
            ) from error
        if "smaller than required_chars" in message:
            raise ValueError(
                f"vocab_size={vocab_size} is smaller than the number of "
                "distinct characters to cover. Pass a larger `vocab_size` "
                "or a smaller `character_coverage` (e.g. 0.9995). "
                f"SentencePiece said: {message}"
            ) from error
        raise
    return model.getvalue()
