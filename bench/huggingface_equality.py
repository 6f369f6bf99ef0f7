"""A published checkpoint here and in ``transformers``: the same states and
the same ids?

Loads a BERT-family checkpoint directory with
``keras_transformer.checkpoints.load_huggingface`` and, in a second
process (a Python with ``torch``, ``transformers`` and ``tokenizers``:
``--reference-python``), with ``transformers.AutoModel`` and
``tokenizers``. Prints the largest difference of the last hidden states
over the real tokens of a few sentences, and how many texts of the
offline data sets tokenize to other ids.

Example (the MiniLM checkpoint unpacked as docs/checkpoints.md shows;
a separate environment for torch keeps it out of the project's)::

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch==2.13.0 \\
        transformers tokenizers
    .venv/bin/python bench/huggingface_equality.py \\
        checkpoints/all-MiniLM-L6-v2 --reference-python /tmp/ref/bin/python
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

SENTENCES = [
    "This is an example sentence",
    "Each sentence is converted",
    "Café résumé — naïve!",
]

REFERENCE = r"""
import json, sys
import numpy as np, torch
from tokenizers import Tokenizer
from transformers import AutoModel

path, work = sys.argv[1], sys.argv[2]
ids = np.load(f"{work}/ids.npy")
model = AutoModel.from_pretrained(path).eval()
with torch.no_grad():
    states = model(
        input_ids=torch.tensor(ids), attention_mask=torch.tensor(ids != 0)
    ).last_hidden_state.numpy()
np.save(f"{work}/reference.npy", states)
tokenizer = Tokenizer.from_file(f"{path}/tokenizer.json")
tokenizer.no_padding()
tokenizer.no_truncation()
with open(f"{work}/texts.json") as handle:
    texts = json.load(handle)
with open(f"{work}/reference_ids.json", "w") as handle:
    json.dump([tokenizer.encode(text).ids for text in texts], handle)
"""


def data_texts(data):
    """700 SAMSum dialogues, the contexts of 10 SQuAD articles and 600
    WNUT-17 sentences."""
    texts = []
    with gzip.open(f"{data}/samsum/train.json.gz", "rt") as handle:
        texts += [record["dialogue"] for record in json.load(handle)[:700]]
    with gzip.open(f"{data}/squad-v1.1/dev-v1.1.json.gz", "rt") as handle:
        for article in json.load(handle)["data"][:10]:
            texts += [p["context"] for p in article["paragraphs"]]
    with open(f"{data}/wnut17/emerging.test.annotated") as handle:
        for block in handle.read().split("\n\n")[:600]:
            words = [line.split("\t")[0] for line in block.splitlines()]
            texts.append(" ".join(word for word in words if word.strip()))
    return texts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="a Hugging Face directory")
    parser.add_argument("--reference-python", default=sys.executable)
    parser.add_argument(
        "--data",
        default=os.environ.get("DATA_DIR"),
        help="the data directory (default: $DATA_DIR; docs/data.md)",
    )
    args = parser.parse_args()
    if args.data is None:
        parser.error("name the data directory: --data DIR, or set DATA_DIR")

    from keras_transformer.checkpoints import load_huggingface

    model, tokenizer = load_huggingface(args.checkpoint)
    ids = tokenizer.tokenize(SENTENCES, add_bos=True, add_eos=True)
    ids = ids.to_tensor().numpy()
    states = np.array(model({"tokens": ids}))
    texts = data_texts(args.data)
    mine = tokenizer.tokenize(texts, add_bos=True, add_eos=True).to_list()
    with tempfile.TemporaryDirectory() as work:
        np.save(os.path.join(work, "ids.npy"), ids)
        with open(os.path.join(work, "texts.json"), "w") as handle:
            json.dump(texts, handle)
        print("Running the reference (transformers, tokenizers) ...")
        subprocess.run(
            [args.reference_python, "-c", REFERENCE, args.checkpoint, work],
            check=True,
        )
        reference = np.load(os.path.join(work, "reference.npy"))
        with open(os.path.join(work, "reference_ids.json")) as handle:
            theirs = json.load(handle)
    real = ids != 0
    difference = np.abs(states - reference)[real].max()
    different = sum(a != b for a, b in zip(mine, theirs))
    print(f"hidden states, max |diff| over real tokens: {difference:.2e}")
    print(
        f"tokenizer: {different} of {len(texts):,} texts differ "
        f"({sum(map(len, theirs)):,} reference ids)"
    )


if __name__ == "__main__":
    main()
