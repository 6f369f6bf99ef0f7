"""A published Marian or GPT-2 checkpoint here and in ``transformers``: the
same ids, logits and searches?

Loads a checkpoint directory with ``keras_transformer.checkpoints.
load_huggingface`` and, in a second process (a Python with ``torch`` and
``transformers``: ``--reference-python``), with ``transformers`` itself.
On the same texts (translation sources or prompts) it prints how many
tokenize to other ids, the largest logit difference over the real
positions of a batch, and how many greedy and beam-search outputs
(``length_penalty`` 0, where both libraries rank by the sum of
log-probabilities) are the same tokens up to EOS.

``generate`` runs with Marian's ban on ``<pad>`` (``bad_words_ids``, as
OPUS-MT's generation config has it) and without a forced EOS at the
length limit; GPT-2's prompts are left-padded there, right-padded here.

Example (the fixtures of tests/fixtures/huggingface; a real checkpoint
downloaded where there is internet works the same)::

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch==2.13.0 \\
        transformers sentencepiece
    .venv/bin/python bench/generation_equality.py \\
        tests/fixtures/huggingface/marian --reference-python /tmp/ref/bin/python
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SENTENCES = [
    "A dog runs on the beach.",
    "Two young children are playing in the park with a red ball.",
    "Who runs?",
    "A man in a blue shirt is reading a newspaper at the station.",
    "Café au lait! A cat sleeps in the sun.",
    "The quick brown fox jumps over the lazy dog.",
    'She said: "It\'s 3.50 euros, not 4.20."',
    "Women with large bags cross the street in the rain.",
]

REFERENCE = r"""
import json, sys
import numpy as np, torch, transformers

path, work, steps, beams = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(
    sys.argv[4])
with open(f"{work}/texts.json") as handle:
    texts = json.load(handle)
config = transformers.AutoConfig.from_pretrained(path)
tokenizer = transformers.AutoTokenizer.from_pretrained(path)
ids = [tokenizer(text).input_ids for text in texts]
settings = dict(max_new_tokens=steps, do_sample=False)
if config.model_type == "marian":
    model = transformers.MarianMTModel.from_pretrained(path).eval()
    pad = config.pad_token_id
    settings.update(bad_words_ids=[[pad]], forced_eos_token_id=None)
else:
    model = transformers.GPT2LMHeadModel.from_pretrained(path).eval()
    tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    settings.update(pad_token_id=config.eos_token_id)
batch = tokenizer(texts, return_tensors="pt", padding=True)
with torch.no_grad():
    greedy = model.generate(**batch, num_beams=1, **settings)
    beam = model.generate(
        **batch, num_beams=beams, length_penalty=0.0, early_stopping=False,
        **settings)
    if config.model_type == "marian":
        logits = model(**batch, decoder_input_ids=greedy).logits
        outputs = [greedy[:, 1:], beam[:, 1:]]
    else:
        right = tokenizer(texts, padding=True, padding_side="right",
                          return_tensors="pt")
        logits = model(**right).logits
        width = batch.input_ids.shape[1]
        outputs = [greedy[:, width:], beam[:, width:]]
np.savez(f"{work}/reference.npz", logits=logits.numpy(),
         greedy=outputs[0].numpy(), beam=outputs[1].numpy())
with open(f"{work}/ids.json", "w") as handle:
    json.dump(ids, handle)
"""


def until_eos(rows, eos):
    """Each row up to its first ``eos``, as a tuple."""
    cut = []
    for row in np.asarray(rows).tolist():
        cut.append(tuple(row[: row.index(eos) + 1] if eos in row else row))
    return cut


def equal_outputs(ours, theirs, eos):
    ours, theirs = until_eos(ours, eos), until_eos(theirs, eos)
    return sum(a == b for a, b in zip(ours, theirs)), sum(map(len, theirs))


def inputs(tokenizer, texts, translation):
    """(B, L) ids, right-padded with 0: sources (with EOS) or prompts."""
    ids = tokenizer.tokenize(texts, add_eos=translation)
    return ids.to_tensor().numpy().astype("int32")


def logit_difference(model, ids, reference, order, hf):
    """The largest |difference| over the batch's real positions, and the
    largest |logit| there."""
    from keras_transformer.special_tokens import BOS_ID, EOS_ID

    expected = reference["logits"][..., order]
    if hf["model_type"] == "gpt2":
        logits = np.array(model({"tokens": ids}))
        real = ids != 0
    else:
        greedy = reference["greedy_ours"]
        start = np.full((len(ids), 1), BOS_ID, "int32")
        targets = np.concatenate([start, greedy], axis=1)
        logits = np.array(
            model({"source_tokens": ids, "target_tokens": targets})
        )
        # Up to each output's EOS (positions after it are padding there).
        real = np.cumsum(targets == EOS_ID, axis=1) - (targets == EOS_ID) < 1
        logits, expected = logits[:, :-1], expected[:, : logits.shape[1] - 1]
        real = real[:, :-1]
    return (
        float(np.abs(logits - expected)[real].max()),
        float(np.abs(expected)[real].max()),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="a Marian or GPT-2 directory")
    parser.add_argument("--reference-python", default=sys.executable)
    parser.add_argument(
        "--texts", help="a file of texts, one per line (.gz too)"
    )
    parser.add_argument("--limit", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--beam-size", type=int, default=4)
    args = parser.parse_args()

    from keras_transformer.checkpoints import load_huggingface
    from keras_transformer.checkpoints.gpt2 import gpt2_order
    from keras_transformer.checkpoints.huggingface import read_config
    from keras_transformer.data.tokenizers.marian import marian_order
    from keras_transformer.inference.beam import beam_search
    from keras_transformer.inference.decoding import greedy_decode
    from keras_transformer.special_tokens import EOS_ID, checkpoint_ids

    texts = SENTENCES
    if args.texts:
        opener = gzip.open if args.texts.endswith(".gz") else open
        with opener(args.texts, "rt", encoding="utf-8") as handle:
            texts = [line.strip() for line in handle if line.strip()]
    hf = read_config(args.checkpoint)
    order = {"marian": marian_order, "gpt2": gpt2_order}[hf["model_type"]](hf)
    inverse = checkpoint_ids(order)
    model, tokenizer = load_huggingface(args.checkpoint)
    translation = hf["model_type"] == "marian"
    # Texts that fit the model's positions with the new tokens.
    room = model.transformer_config.max_length - args.max_new_tokens - 1
    lengths = tokenizer.tokenize(texts, add_eos=True).row_lengths().numpy()
    texts = [t for t, n in zip(texts, lengths) if n <= room][: args.limit]
    ids = inputs(tokenizer, texts, translation)
    with tempfile.TemporaryDirectory() as work:
        with open(os.path.join(work, "texts.json"), "w") as handle:
            json.dump(texts, handle)
        print(f"Running the reference (transformers) on {len(texts)} texts")
        done = subprocess.run(
            [
                args.reference_python,
                "-c",
                REFERENCE,
                args.checkpoint,
                work,
                str(args.max_new_tokens),
                str(args.beam_size),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            sys.exit(f"the reference failed:\n{done.stderr[-2000:]}")
        reference = dict(np.load(os.path.join(work, "reference.npz")))
        with open(os.path.join(work, "ids.json")) as handle:
            theirs = json.load(handle)
    to_ours = np.vectorize(inverse.get)
    for name in ("greedy", "beam"):
        reference[f"{name}_ours"] = to_ours(reference[name]).astype("int32")
    mine = tokenizer.tokenize(texts, add_eos=translation).to_list()
    different = sum(a != [inverse[i] for i in b] for a, b in zip(mine, theirs))
    print(
        f"tokenizer: {different} of {len(texts)} texts differ "
        f"({sum(map(len, theirs)):,} reference ids)"
    )
    difference, scale = logit_difference(model, ids, reference, order, hf)
    print(
        f"logits, max |diff| over real positions: {difference:.2e} "
        f"(max |logit| {scale:.1f})"
    )
    steps = args.max_new_tokens
    greedy, _ = greedy_decode(model, ids, steps)
    beam, _ = beam_search(
        model, ids, steps, beam_size=args.beam_size, length_penalty=0.0
    )
    for name, tokens in (("greedy", greedy), (f"beam {args.beam_size}", beam)):
        key = name.split()[0] + "_ours"
        same, count = equal_outputs(tokens, reference[key], EOS_ID)
        print(
            f"{name}, length penalty 0: {same} of {len(texts)} outputs the "
            f"same tokens ({count:,} reference tokens, up to EOS)"
        )


if __name__ == "__main__":
    main()
