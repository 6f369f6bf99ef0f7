"""BERT's WordPiece tokenizer in the graph, read from a published checkpoint.

``WordPieceTokenizer`` gives the ids of Hugging Face's ``tokenizers`` for a
BERT vocabulary: its normalizer (``BertNormalizer``: control characters
dropped, whitespace made spaces, then, for an uncased vocabulary, accents
stripped after NFD and lower case) is written with TensorFlow string ops,
and tensorflow-text's ``FastBertTokenizer`` splits words at whitespace,
punctuation and CJK characters and into word pieces. So ``predict`` and
the SavedModel export go from text to ids in one graph.

One difference is known: a word longer than 100 *bytes* becomes
``[UNK]`` here, where ``tokenizers`` counts 100 *characters* (the same for
ASCII words; a word of 51 to 100 non-ASCII characters differs).
"""

import json
import os

import tensorflow as tf
import tensorflow_text as tf_text

from keras_transformer.data.tokenizers.base import CONFIG_FILE, Tokenizer, _join

VOCAB_FILE = "vocab.txt"
#: BERT's special pieces, by the role they play here.
BERT_PIECES = {
    "pad": "[PAD]",
    "unk": "[UNK]",
    "bos": "[CLS]",
    "eos": "[SEP]",
    "mask": "[MASK]",
}
#: Words longer than this many bytes become [UNK] (BERT's 100).
MAX_WORD_BYTES = 100

# Unicode whitespace (Rust's char::is_whitespace) becomes a space; the
# remaining "other" characters (control, format, private use, surrogates)
# and U+FFFD are dropped: BertNormalizer's clean_text.
_WHITESPACE = r"[\p{Zs}\x{85}\x{2028}\x{2029}\t\n\x{0b}\x{0c}\r]"
_OTHER = r"[\p{Cc}\p{Cf}\p{Co}\p{Cs}\x{fffd}]"

# BERT's pre-tokenizer: words end at whitespace (dropped) and at every
# punctuation mark and CJK ideograph (each a word of its own).
_PUNCTUATION = (
    r"[!-/]|[:-@]|[\[-`]|[{-~]|[\p{P}]|[\x{4E00}-\x{9FFF}]"
    r"|[\x{3400}-\x{4DBF}]|[\x{20000}-\x{2A6DF}]|[\x{2A700}-\x{2B73F}]"
    r"|[\x{2B740}-\x{2B81F}]|[\x{2B820}-\x{2CEAF}]|[\x{F900}-\x{FAFF}]"
    r"|[\x{2F800}-\x{2FA1F}]"
)
_DELIMITERS = f"{_WHITESPACE}+|{_PUNCTUATION}"


def normalize(texts, lowercase):
    """BertNormalizer of a [N] ``tf.string`` batch.

    Args:
        texts: [N] strings.
        lowercase: strip accents (NFD, nonspacing marks dropped) and lower
            the case, as an uncased vocabulary needs.

    Returns:
        [N] normalized strings.
    """
    texts = tf.strings.regex_replace(texts, _WHITESPACE, " ")
    texts = tf.strings.regex_replace(texts, _OTHER, "")
    if not lowercase:
        return texts
    texts = tf_text.normalize_utf8(texts, "NFD")
    texts = tf.strings.regex_replace(texts, r"\p{Mn}", "")
    return tf.strings.lower(texts, encoding="utf-8")


class WordPieceTokenizer(Tokenizer):
    """A BERT vocabulary's WordPiece tokenizer, as TensorFlow ops.

    Its special ids are the vocabulary's: ``[PAD]`` is ``pad_id``,
    ``[UNK]`` ``unk_id``, ``[CLS]`` ``bos_id`` and ``[SEP]`` ``eos_id``
    (0, 100, 101 and 102 in BERT's), so ``tokenize(texts, add_bos=True,
    add_eos=True)`` gives ``[CLS] ... [SEP]`` as Hugging Face's tokenizer
    does.

    Args:
        vocabulary: the pieces, in id order (``##`` starts a piece that
            continues a word).
        lowercase: an uncased vocabulary (accents stripped, lower case).
        name: name of the ``tf.Module``.

    Returns:
        The tokenizer.

    Example:

    >>> tokenizer = WordPieceTokenizer.from_huggingface("all-MiniLM-L6-v2")
    >>> tokenizer.tokenize(["Hello, world!"], add_bos=True, add_eos=True)
    <tf.RaggedTensor [[101, 7592, 1010, 2088, 999, 102]]>
    """

    type_name = "wordpiece"

    def __init__(self, vocabulary, lowercase=True, name=None):
        super().__init__(name=name)
        vocabulary = [str(piece) for piece in vocabulary]
        index = {piece: i for i, piece in enumerate(vocabulary)}
        missing = [
            piece
            for role, piece in BERT_PIECES.items()
            if role != "mask" and piece not in index
        ]
        if missing:
            raise ValueError(
                f"A WordPiece vocabulary needs the pieces {missing}; this "
                f"one ({len(vocabulary)} pieces) lacks them."
            )
        self.vocabulary = vocabulary
        self.lowercase = bool(lowercase)
        self._ids = {
            role: index.get(piece) for role, piece in BERT_PIECES.items()
        }
        self._pieces = tf.constant(vocabulary, tf.string)

        self._wordpiece = tf_text.FastBertTokenizer(
            vocab=vocabulary,
            suffix_indicator="##",
            max_bytes_per_word=MAX_WORD_BYTES,
            token_out_type=tf.int64,
            unknown_token=BERT_PIECES["unk"],
            lower_case_nfd_strip_accents=False,
            support_detokenization=True,
        )

    @property
    def vocab_size(self):
        return len(self.vocabulary)

    @property
    def pad_id(self):
        return self._ids["pad"]

    @property
    def unk_id(self):
        return self._ids["unk"]

    @property
    def bos_id(self):
        return self._ids["bos"]

    @property
    def eos_id(self):
        return self._ids["eos"]

    @property
    def mask_id(self):
        return self._ids["mask"]

    def __repr__(self):
        case = "uncased" if self.lowercase else "cased"
        return f"WordPieceTokenizer(vocab_size={self.vocab_size}, {case})"

    def _tokenize_batch(self, texts):
        return self._wordpiece.tokenize(normalize(texts, self.lowercase))

    def _tokenize_with_offsets_batch(self, texts):
        # Words (whitespace, punctuation and CJK split) of the original
        # text keep their byte spans; each is normalized and split into
        # pieces on its own. A piece's span is exact where normalizing
        # kept the word's bytes, and the whole word's otherwise (an
        # accent stripped, a control character dropped).
        # The splitter ends a word at NUL; another control character of
        # one byte (dropped by the normalizer too) keeps the offsets.
        texts = tf.strings.regex_replace(texts, r"\x00", "\x01")
        words, word_starts, word_ends = tf_text.regex_split_with_offsets(
            texts, _DELIMITERS, _PUNCTUATION
        )
        original = words.flat_values
        normalized = normalize(original, self.lowercase)
        pieces, starts, ends = self._wordpiece.tokenize_with_offsets(normalized)
        word = pieces.value_rowids()
        exact = tf.gather(
            tf.strings.length(normalized) == tf.strings.length(original), word
        )
        first = tf.gather(word_starts.flat_values, word)
        starts = tf.where(exact, first + starts.flat_values, first)
        ends = tf.where(
            exact,
            first + ends.flat_values,
            tf.gather(word_ends.flat_values, word),
        )
        nested = tf.RaggedTensor.from_row_splits(pieces, words.row_splits)
        ids = nested.merge_dims(1, 2)
        return ids, ids.with_flat_values(starts), ids.with_flat_values(ends)

    def _detokenize_batch(self, ids):
        # Pieces joined: a "##" piece onto the one before, words by spaces
        # (BERT's text comes back normalized: lower case, no accents, and
        # a space around each punctuation mark).
        return self._wordpiece.detokenize(tf.cast(ids, tf.int64))

    def _id_to_piece_flat(self, ids):
        return tf.gather(self._pieces, ids)

    def _config(self):
        return {"vocab_file": VOCAB_FILE, "lowercase": self.lowercase}

    def _save_assets(self, path):
        with tf.io.gfile.GFile(_join(path, VOCAB_FILE), "w") as f:
            f.write("".join(piece + "\n" for piece in self.vocabulary))

    @classmethod
    def _from_saved(cls, path, config):
        lowercase = config.get("lowercase")
        if not isinstance(lowercase, bool):
            raise ValueError(
                f"{_join(path, CONFIG_FILE)!r} must say lowercase: true or "
                "false. Save the tokenizer again with Tokenizer.save()."
            )
        return cls(read_vocabulary(_join(path, VOCAB_FILE)), lowercase)

    @classmethod
    def from_huggingface(cls, directory):
        """The tokenizer of a Hugging Face checkpoint directory: its
        ``tokenizer.json`` (a WordPiece model with a BertNormalizer), or
        its ``vocab.txt`` with ``tokenizer_config.json``'s
        ``do_lower_case``.

        Raises:
            ValueError: neither file, or a tokenizer of another kind.
        """
        json_path = os.path.join(directory, "tokenizer.json")
        if os.path.exists(json_path):
            return cls(*_from_tokenizer_json(json_path))
        vocab_path = os.path.join(directory, VOCAB_FILE)
        if not os.path.exists(vocab_path):
            raise ValueError(
                f"{directory} has neither tokenizer.json nor {VOCAB_FILE}: "
                "copy the checkpoint's tokenizer files next to its weights."
            )
        settings = os.path.join(directory, "tokenizer_config.json")
        lowercase = True
        if os.path.exists(settings):
            with open(settings, encoding="utf-8") as handle:
                lowercase = bool(json.load(handle).get("do_lower_case", True))
        return cls(read_vocabulary(vocab_path), lowercase)


def read_vocabulary(path):
    """The pieces of a ``vocab.txt`` (one per line, in id order)."""
    with tf.io.gfile.GFile(path, "r") as handle:
        return [line.rstrip("\n").rstrip("\r") for line in handle]


def _from_tokenizer_json(path):
    """``(vocabulary, lowercase)`` of a ``tokenizers`` WordPiece file."""
    with open(path, encoding="utf-8") as handle:
        spec = json.load(handle)
    model = spec.get("model") or {}
    if model.get("type") != "WordPiece":
        raise ValueError(
            f"{path}: a {model.get('type')!r} tokenizer, not WordPiece; "
            "only BERT-family (WordPiece) tokenizers load here."
        )
    vocab = model["vocab"]
    vocabulary = [None] * len(vocab)
    for piece, index in vocab.items():
        vocabulary[index] = piece
    normalizer = spec.get("normalizer") or {}
    lowercase = bool(normalizer.get("lowercase", True))
    strip = normalizer.get("strip_accents")
    if strip is not None and strip != lowercase:
        raise ValueError(
            f"{path}: strip_accents={strip} with lowercase={lowercase} is "
            "not supported (accents are stripped exactly when lowercasing)."
        )
    return vocabulary, lowercase


__all__ = ["WordPieceTokenizer", "normalize", "read_vocabulary"]
