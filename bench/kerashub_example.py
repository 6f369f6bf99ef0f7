"""The keras-io example "English-to-Spanish translation with KerasHub", as
published, trained for a CPU-time budget: the peer of ``bench/race.py``.

The example (keras-io ``examples/nlp/neural_machine_translation_with_
keras_hub.py``, last modified 2024/04/30) is rewritten here step by step:

* the pairs are lowercased, shuffled and cut 70/15/15 (train/val/test);
* two WordPiece vocabularies of 15,000 pieces
  (``keras_hub.tokenizers.compute_word_piece_vocabulary``) with the
  reserved tokens ``[PAD] [UNK] [START] [END]``;
* batches of 64 pairs packed to 40 tokens (``StartEndPacker``), the
  published ``batch -> map -> shuffle(2048) -> prefetch(16) -> cache``;
* ``TokenAndPositionEmbedding`` (no ``mask_zero``, as published),
  one ``TransformerEncoder`` and one ``TransformerDecoder`` (D 256, FFN
  2,048, 8 heads), dropout 0.5, a softmax ``Dense`` of 15,000: 14.4M
  parameters;
* ``compile("rmsprop", "sparse_categorical_crossentropy")`` and
  ``fit(..., validation_data=val)``;
* greedy decoding one sentence at a time with ``keras_hub.samplers.
  GreedySampler`` over a 40-token prompt, as ``decode_sequences`` does.

What differs: the data is read from a local file instead of downloaded,
the shuffle is seeded, and training stops at CPU-time budgets instead of
after a number of epochs, saving the weights at each budget (the example's
learning rate is constant, so the weights at 10 CPU-minutes of a 60-minute
run are those of a 10-minute run).

Usage::

    python bench/kerashub_example.py split --pairs spa.txt.gz --out DIR
    python bench/kerashub_example.py train --out DIR --budgets 10,30,60
    python bench/kerashub_example.py translate --out DIR --budget 10

``split`` writes ``DIR/{train,val,test}.tsv`` (the original, cased
pairs: the other system of the race trains on the same files).
"""

import argparse
import gzip
import json
import os
import random
import time

BATCH_SIZE = 64
MAX_SEQUENCE_LENGTH = 40
ENG_VOCAB_SIZE = 15000
SPA_VOCAB_SIZE = 15000
EMBED_DIM = 256
INTERMEDIATE_DIM = 2048
NUM_HEADS = 8
RESERVED_TOKENS = ["[PAD]", "[UNK]", "[START]", "[END]"]
SPLITS = ("train", "val", "test")


def read_pairs(path):
    """The ``english<TAB>spanish`` pairs of a (gzipped) file."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")[:-1]
    return [tuple(line.split("\t")[:2]) for line in lines]


def split_pairs(pairs, seed):
    """The example's split: shuffle, then 70% / 15% / 15%."""
    pairs = list(pairs)
    random.Random(seed).shuffle(pairs)
    num_val = int(0.15 * len(pairs))
    num_train = len(pairs) - 2 * num_val
    return {
        "train": pairs[:num_train],
        "val": pairs[num_train : num_train + num_val],
        "test": pairs[num_train + num_val :],
    }


def write_split(pairs_path, out, seed=0):
    os.makedirs(out, exist_ok=True)
    for name, pairs in split_pairs(read_pairs(pairs_path), seed).items():
        with open(os.path.join(out, f"{name}.tsv"), "w") as f:
            f.writelines(f"{eng}\t{spa}\n" for eng, spa in pairs)
        print(f"{name}: {len(pairs):,} pairs")


def read_split(out, name):
    with open(os.path.join(out, f"{name}.tsv"), encoding="utf-8") as f:
        return [tuple(line.rstrip("\n").split("\t")) for line in f]


def lowered(pairs):
    return [(eng.lower(), spa.lower()) for eng, spa in pairs]


def train_word_piece(texts, vocab_size):
    import keras_hub
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(texts)
    return keras_hub.tokenizers.compute_word_piece_vocabulary(
        dataset.batch(1000).prefetch(2),
        vocabulary_size=vocab_size,
        reserved_tokens=RESERVED_TOKENS,
    )


def vocabularies(out, train_pairs):
    """The two vocabularies, computed once and kept in ``out``."""
    path = os.path.join(out, "peer_vocab.json")
    if not os.path.exists(path):
        started = time.process_time()
        eng, spa = zip(*train_pairs)
        vocab = {
            "eng": train_word_piece(list(eng), ENG_VOCAB_SIZE),
            "spa": train_word_piece(list(spa), SPA_VOCAB_SIZE),
        }
        vocab["cpu_seconds"] = round(time.process_time() - started, 1)
        with open(path, "w") as f:
            json.dump(vocab, f)
    with open(path) as f:
        return json.load(f)


def tokenizers(vocab):
    import keras_hub

    return tuple(
        keras_hub.tokenizers.WordPieceTokenizer(
            vocabulary=vocab[side], lowercase=False
        )
        for side in ("eng", "spa")
    )


def make_dataset(pairs, eng_tokenizer, spa_tokenizer):
    import keras_hub
    import tensorflow as tf

    def preprocess_batch(eng, spa):
        eng = keras_hub.layers.StartEndPacker(
            sequence_length=MAX_SEQUENCE_LENGTH,
            pad_value=eng_tokenizer.token_to_id("[PAD]"),
        )(eng_tokenizer(eng))
        spa = keras_hub.layers.StartEndPacker(
            sequence_length=MAX_SEQUENCE_LENGTH + 1,
            start_value=spa_tokenizer.token_to_id("[START]"),
            end_value=spa_tokenizer.token_to_id("[END]"),
            pad_value=spa_tokenizer.token_to_id("[PAD]"),
        )(spa_tokenizer(spa))
        inputs = {"encoder_inputs": eng, "decoder_inputs": spa[:, :-1]}
        return inputs, spa[:, 1:]

    eng_texts, spa_texts = zip(*pairs)
    dataset = tf.data.Dataset.from_tensor_slices(
        (list(eng_texts), list(spa_texts))
    )
    dataset = dataset.batch(BATCH_SIZE)
    dataset = dataset.map(preprocess_batch, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.shuffle(2048).prefetch(16).cache()


def build_model():
    """The example's encoder-decoder, 14.4M parameters."""
    import keras
    import keras_hub

    encoder_inputs = keras.Input(shape=(None,), name="encoder_inputs")
    x = keras_hub.layers.TokenAndPositionEmbedding(
        vocabulary_size=ENG_VOCAB_SIZE,
        sequence_length=MAX_SEQUENCE_LENGTH,
        embedding_dim=EMBED_DIM,
    )(encoder_inputs)
    encoder_outputs = keras_hub.layers.TransformerEncoder(
        intermediate_dim=INTERMEDIATE_DIM, num_heads=NUM_HEADS
    )(inputs=x)

    decoder_inputs = keras.Input(shape=(None,), name="decoder_inputs")
    encoded = keras.Input(shape=(None, EMBED_DIM), name="decoder_state_inputs")
    x = keras_hub.layers.TokenAndPositionEmbedding(
        vocabulary_size=SPA_VOCAB_SIZE,
        sequence_length=MAX_SEQUENCE_LENGTH,
        embedding_dim=EMBED_DIM,
    )(decoder_inputs)
    x = keras_hub.layers.TransformerDecoder(
        intermediate_dim=INTERMEDIATE_DIM, num_heads=NUM_HEADS
    )(decoder_sequence=x, encoder_sequence=encoded)
    x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Dense(SPA_VOCAB_SIZE, activation="softmax")(x)
    decoder = keras.Model([decoder_inputs, encoded], outputs)
    return keras.Model(
        [encoder_inputs, decoder_inputs],
        decoder([decoder_inputs, encoder_outputs]),
        name="transformer",
    )


def weights_path(out, minutes):
    return os.path.join(out, f"peer-{minutes:g}m.weights.h5")


def train(out, budgets, seed=0):
    """Trains as the example does, saving the weights when the process's
    CPU time spent in ``fit`` reaches each budget (minutes)."""
    import keras

    keras.utils.set_random_seed(seed)
    pairs = {name: lowered(read_split(out, name)) for name in ("train", "val")}
    vocab = vocabularies(out, pairs["train"])
    eng_tokenizer, spa_tokenizer = tokenizers(vocab)
    train_ds = make_dataset(pairs["train"], eng_tokenizer, spa_tokenizer)
    val_ds = make_dataset(pairs["val"], eng_tokenizer, spa_tokenizer)
    model = build_model()
    model.compile(
        "rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    print(f"Peer: {model.count_params():,} parameters.")
    log = []

    class Budgets(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.start = time.process_time()
            self.pending = sorted(budgets)
            self.steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            spent = time.process_time() - self.start
            while self.pending and spent >= 60 * self.pending[0]:
                minutes = self.pending.pop(0)
                self.model.save_weights(weights_path(out, minutes))
                log.append(
                    {
                        "minutes": minutes,
                        "updates": self.steps,
                        "cpu_seconds": round(spent, 1),
                    }
                )
                print(f"\nPeer: {minutes:g} CPU-min, {self.steps} updates.")
            if not self.pending:
                self.model.stop_training = True

    model.fit(
        train_ds,
        epochs=1000,
        validation_data=val_ds,
        callbacks=[Budgets()],
        verbose=2,
    )
    with open(os.path.join(out, "peer_train.json"), "w") as f:
        json.dump(log, f, indent=1)


def translate(out, minutes, limit=None):
    """Greedy translations of the test split by the weights saved at
    ``minutes``, one sentence at a time as the example decodes."""
    import keras_hub
    from keras import ops

    vocab = vocabularies(out, None)
    eng_tokenizer, spa_tokenizer = tokenizers(vocab)
    model = build_model()
    model.load_weights(weights_path(out, minutes))
    sources = [eng.lower() for eng, _ in read_split(out, "test")][:limit]

    def decode_sequence(sentence):
        tokens = ops.convert_to_tensor(
            eng_tokenizer([sentence]), sparse=False, ragged=False
        )
        if ops.shape(tokens)[1] < MAX_SEQUENCE_LENGTH:
            pads = ops.zeros(
                (1, MAX_SEQUENCE_LENGTH - ops.shape(tokens)[1]),
                dtype=tokens.dtype,
            )
            tokens = ops.concatenate([tokens, pads], 1)

        def next(prompt, cache, index):
            logits = model([tokens, prompt])[:, index - 1, :]
            return logits, None, cache

        # dtype: Keras 3.15's ops.full makes floats of an int fill value,
        # which the tokenizer cannot detokenize.
        start = ops.full(
            (1, 1), spa_tokenizer.token_to_id("[START]"), dtype="int32"
        )
        pad = ops.full(
            (1, MAX_SEQUENCE_LENGTH - 1),
            spa_tokenizer.token_to_id("[PAD]"),
            dtype="int32",
        )
        generated = keras_hub.samplers.GreedySampler()(
            next,
            ops.concatenate((start, pad), axis=-1),
            stop_token_ids=[spa_tokenizer.token_to_id("[END]")],
            index=1,
        )
        text = spa_tokenizer.detokenize(generated)[0]
        text = text.numpy().decode() if hasattr(text, "numpy") else text
        for token in ("[PAD]", "[START]", "[END]"):
            text = text.replace(token, "")
        return text.strip()

    started = time.process_time()
    outputs = []
    for i, sentence in enumerate(sources):
        outputs.append(decode_sequence(sentence))
        if (i + 1) % 100 == 0:
            print(f"Peer: translated {i + 1} of {len(sources)}", flush=True)
    seconds = time.process_time() - started
    with open(os.path.join(out, f"peer-{minutes:g}m.hyp"), "w") as f:
        f.writelines(text.replace("\n", " ") + "\n" for text in outputs)
    with open(os.path.join(out, f"peer-{minutes:g}m.decode.json"), "w") as f:
        json.dump({"sentences": len(sources), "cpu_seconds": seconds}, f)
    print(f"Peer: {len(sources)} sentences in {seconds:.0f} CPU-s.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["split", "train", "translate"])
    parser.add_argument("--out", required=True, help="the race directory")
    parser.add_argument("--pairs", help="split: the TSV of pairs")
    parser.add_argument(
        "--budgets",
        default="10,30,60",
        help="train: CPU-minutes at which weights are saved",
    )
    parser.add_argument(
        "--budget", type=float, help="translate: the weights of this budget"
    )
    parser.add_argument("--limit", type=int, help="translate: first N only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "split":
        write_split(args.pairs, args.out, args.seed)
    elif args.command == "train":
        budgets = [float(b) for b in args.budgets.split(",")]
        train(args.out, budgets, args.seed)
    else:
        translate(args.out, args.budget, args.limit)


if __name__ == "__main__":
    main()
