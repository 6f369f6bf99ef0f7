"""``ByteTokenizer``: UTF-8 bytes as ids (``id = byte + 4``, 260 ids), with
``tf.strings`` ops only; no training, and an exact round trip for every
UTF-8 string."""

import tensorflow as tf

from keras_transformer.data.tokenizers.base import Tokenizer

# Importing tensorflow_text registers its ops; the SentencePiece ones are
# used directly (see _SentencePieceResource for why).
from keras_transformer.special_tokens import (
    SPECIAL_PIECES,
)

#: ``ByteTokenizer`` id of byte ``b`` is ``b + BYTE_OFFSET``.
BYTE_OFFSET = 4
# What the byte tokenizer's ``detokenize`` writes for UNK: U+FFFD, the
# Unicode replacement character.
_REPLACEMENT = "\ufffd".encode("utf-8")


class ByteTokenizer(Tokenizer):
    """UTF-8 bytes as ids: ``id = byte + 4``, 260 ids in all.

    Needs no training and no files. ``detokenize(tokenize(x)) == x`` for
    every UTF-8 string ``x``, whitespace, control characters and emoji
    included. ``detokenize`` always returns valid UTF-8: byte sequences
    that are not (e.g. a character cut in half by a decoder) and
    ``UNK_ID`` become U+FFFD (the replacement character).

    Args:
        name: name of the ``tf.Module``.

    Returns:
        The tokenizer.

    Example:

    >>> tokenizer = ByteTokenizer()
    >>> tokenizer.tokenize("é").numpy()
    array([199, 173], dtype=int32)
    >>> tokenizer.detokenize([199, 173, 3]).numpy().decode()
    'é'
    """

    type_name = "byte"

    @property
    def vocab_size(self):
        """Always 260: 4 special ids and 256 bytes.

        Returns:
            260.

        Example:

        >>> ByteTokenizer().vocab_size
        260
        """
        return BYTE_OFFSET + 256

    def __repr__(self):
        return f"ByteTokenizer(vocab_size={self.vocab_size})"

    def _tokenize_batch(self, texts):
        chars = tf.strings.bytes_split(texts)
        # Every element of chars.values is one byte long, so decode_raw
        # reads each as one uint8: shape [num_bytes, 1].
        flat = tf.reshape(tf.io.decode_raw(chars.values, tf.uint8), [-1])
        return chars.with_values(tf.cast(flat, tf.int32) + BYTE_OFFSET)

    def _tokenize_with_offsets_batch(self, texts):
        ids = self._tokenize_batch(texts)
        starts = tf.ragged.range(ids.row_lengths())
        return ids, starts, starts + 1

    def _detokenize_batch(self, ids):
        table = tf.constant(
            [b"", _REPLACEMENT, b"", b""] + [bytes([b]) for b in range(256)]
        )
        pieces = ids.with_values(tf.gather(table, ids.values))
        joined = tf.strings.reduce_join(pieces, axis=-1)
        return tf.strings.unicode_transcode(
            joined, "UTF-8", "UTF-8", errors="replace"
        )

    def _id_to_piece_flat(self, ids):
        names = list(SPECIAL_PIECES)
        for byte in range(256):
            if 0x21 <= byte <= 0x7E:
                names.append(chr(byte))
            else:
                names.append(f"<0x{byte:02X}>")
        return tf.gather(tf.constant(names), ids)

    @classmethod
    def _from_saved(cls, path, config):
        return cls()
