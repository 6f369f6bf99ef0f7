"""Translation quality against CPU-minutes of training: this project's
command line against the keras-io KerasHub example
(``bench/kerashub_example.py``), on the example's own data.

Both systems see the same pairs: Tatoeba en->es
(``$DATA_DIR/tatoeba-spa-eng``) shuffled and cut 70/15/15 as the
example cuts them (``kerashub_example.py split``). Each runs pinned to one
core (``taskset``); its CPU time is that of its process (user + system,
all threads). For every budget (10, 30 and 60 CPU-minutes by default):

* this project: the command of docs/own-data.md with
  ``training.time_budget`` set to the budget (one run per budget: the plan
  fits warmup and cooldown to it), then ``evaluate`` with beam search (the
  run's default) and with ``--decode greedy``;
* the peer: one training run saving its weights at each budget (its
  learning rate is constant), then its greedy decoding of the same
  sentences.

The first ``--sentences`` test pairs are translated and scored with
sacreBLEU against the cased references: BLEU and chrF as they are,
lowercased (the peer writes lowercase), and lowercased without
punctuation. Decoding CPU-seconds are those of the translating process.

Usage::

    python bench/race.py --pairs $DATA_DIR/tatoeba-spa-eng/spa.txt.gz \\
        --out runs/race --budgets 10,30,60

Each step's outputs are kept in ``--out`` and reused when the command is
run again (delete a file to redo its step). ``--table-only`` prints the
table and writes the plot from what is there.
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEER = os.path.join(HERE, "kerashub_example.py")


def run_pinned(command, core, log_path):
    """Runs ``command`` on ``core``; returns its CPU seconds (children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    with open(log_path, "w") as log:
        process = subprocess.run(
            ["taskset", "-c", str(core), *command],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode:
        sys.exit(f"{' '.join(command)} failed: see {log_path}")
    cpu = (after.ru_utime - before.ru_utime) + (
        after.ru_stime - before.ru_stime
    )
    print(f"  {time.time() - started:.0f} s wall, {cpu:.0f} CPU-s: {log_path}")
    return cpu


def ours_command(out, minutes, sentences):
    """The command of docs/own-data.md, with a time budget."""
    return [
        os.path.join(os.path.dirname(sys.executable), "keras-transformer"),
        "train",
        os.path.join(ROOT, "configs", "translate_local.yaml"),
        "--workdir",
        os.path.join(out, f"ours-{minutes:g}m"),
        "--set",
        "data.format=tsv",
        "--set",
        f"data.path={out}/{{split}}.tsv",
        "--set",
        "data.split_names.validation=val",
        "--set",
        "data.split_names.test=test",
        "--set",
        f"training.time_budget={minutes:g}m",
        "--set",
        f"evaluation.max_examples={sentences}",
        "--set",
        "evaluation.show_examples=0",
    ]


def ours(out, minutes, sentences, core):
    workdir = os.path.join(out, f"ours-{minutes:g}m")
    if not os.path.exists(os.path.join(workdir, "metrics.json")):
        print(f"ours, {minutes:g} min: training")
        cpu = run_pinned(
            ours_command(out, minutes, sentences), core, workdir + ".train.log"
        )
        _write(workdir + ".train.json", {"cpu_seconds": cpu})
    for decode in ("beam", "greedy"):
        record = f"{workdir}.{decode}.json"
        if os.path.exists(record):
            continue
        print(f"ours, {minutes:g} min: {decode} decoding")
        command = [
            os.path.join(os.path.dirname(sys.executable), "keras-transformer"),
            "evaluate",
            "--workdir",
            workdir,
            "--decode",
            decode,
        ]
        cpu = run_pinned(command, core, f"{workdir}.{decode}.log")
        _write(record, {"cpu_seconds": cpu})


def peer(out, budgets, sentences, core):
    if not all(
        os.path.exists(os.path.join(out, f"peer-{m:g}m.weights.h5"))
        for m in budgets
    ):
        print("peer: training")
        run_pinned(
            [
                sys.executable,
                PEER,
                "train",
                "--out",
                out,
                "--budgets",
                ",".join(f"{m:g}" for m in budgets),
            ],
            core,
            os.path.join(out, "peer.train.log"),
        )
    for minutes in budgets:
        if os.path.exists(os.path.join(out, f"peer-{minutes:g}m.hyp")):
            continue
        print(f"peer, {minutes:g} min: greedy decoding")
        run_pinned(
            [
                sys.executable,
                PEER,
                "translate",
                "--out",
                out,
                "--budget",
                f"{minutes:g}",
                "--limit",
                str(sentences),
            ],
            core,
            os.path.join(out, f"peer-{minutes:g}m.decode.log"),
        )


def _write(path, values):
    with open(path, "w") as f:
        json.dump(values, f, indent=1)


def _read(path):
    with open(path) as f:
        return json.load(f)


def ours_hypotheses(workdir, decode):
    """The translations of ``evaluate``'s TSV, in test order."""
    names = [
        n
        for n in os.listdir(os.path.join(workdir, "eval"))
        if n.startswith(f"test-{decode}") and n.endswith(".tsv")
    ]
    with open(os.path.join(workdir, "eval", names[0]), encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        column = header.index("translation")
        return [line.rstrip("\n").split("\t")[column] for line in f]


def without_punctuation(text):
    kept = "".join(
        " " if unicodedata.category(c).startswith("P") else c for c in text
    )
    return re.sub(r"\s+", " ", kept).strip()


def scores(hypotheses, references):
    import sacrebleu

    lower = [h.lower() for h in hypotheses], [r.lower() for r in references]
    bare = (
        [without_punctuation(h) for h in lower[0]],
        [without_punctuation(r) for r in lower[1]],
    )
    result = {}
    for name, (hyp, ref) in (
        ("cased", (hypotheses, references)),
        ("lower", lower),
        ("bare", bare),
    ):
        result[f"bleu_{name}"] = sacrebleu.corpus_bleu(hyp, [ref]).score
        result[f"chrf_{name}"] = sacrebleu.corpus_chrf(hyp, [ref]).score
    return result


def collect(out, budgets, sentences):
    """One row per system, budget and decoding."""
    with open(os.path.join(out, "test.tsv"), encoding="utf-8") as f:
        references = [line.rstrip("\n").split("\t")[1] for line in f]
    references = references[:sentences]
    rows = []
    peer_log = os.path.join(out, "peer_train.json")
    peer_updates = (
        {e["minutes"]: e["updates"] for e in _read(peer_log)}
        if os.path.exists(peer_log)
        else {}
    )
    for minutes in budgets:
        workdir = os.path.join(out, f"ours-{minutes:g}m")
        for decode in ("beam", "greedy"):
            record = f"{workdir}.{decode}.json"
            if not os.path.exists(record):
                continue
            hyp = ours_hypotheses(
                workdir, "beam4" if decode == "beam" else decode
            )
            plan = _read(os.path.join(workdir, "plan.json"))
            rows.append(
                dict(
                    system=f"ours, {decode}",
                    minutes=minutes,
                    updates=plan["stopped_at"] or plan["steps"],
                    decode_cpu_s=_read(record)["cpu_seconds"],
                    **scores(hyp, references),
                )
            )
        hyp_path = os.path.join(out, f"peer-{minutes:g}m.hyp")
        if os.path.exists(hyp_path):
            with open(hyp_path, encoding="utf-8") as f:
                hyp = [line.rstrip("\n") for line in f]
            decode = _read(os.path.join(out, f"peer-{minutes:g}m.decode.json"))
            rows.append(
                dict(
                    system="KerasHub example, greedy",
                    minutes=minutes,
                    updates=peer_updates.get(minutes),
                    decode_cpu_s=decode["cpu_seconds"],
                    **scores(hyp, references[: len(hyp)]),
                )
            )
    return rows


COLUMNS = (
    ("system", "system", "{}"),
    ("minutes", "CPU-min", "{:g}"),
    ("updates", "updates", "{}"),
    ("bleu_cased", "BLEU", "{:.1f}"),
    ("chrf_cased", "chrF", "{:.1f}"),
    ("bleu_lower", "BLEU lc", "{:.1f}"),
    ("chrf_lower", "chrF lc", "{:.1f}"),
    ("bleu_bare", "BLEU lc-p", "{:.1f}"),
    ("chrf_bare", "chrF lc-p", "{:.1f}"),
    ("decode_cpu_s", "decode CPU-s", "{:.0f}"),
)


def table(rows):
    lines = [
        "| " + " | ".join(title for _, title, _ in COLUMNS) + " |",
        "| --- |" + " ---: |" * (len(COLUMNS) - 1),
    ]
    for row in rows:
        cells = [
            "" if row.get(key) is None else fmt.format(row[key])
            for key, _, fmt in COLUMNS
        ]
        lines.append("| " + " | ".join(cells) + " |")
    peers = {r["minutes"]: r for r in rows if r["system"].startswith("Keras")}
    lines.append("")
    for row in rows:
        match = peers.get(row["minutes"])
        if row["system"].startswith("ours") and match:
            ratios = [
                row[key] / max(match[key], 1e-9)
                for key in ("chrf_cased", "chrf_lower")
            ]
            lines.append(
                f"{row['system']}, {row['minutes']:g} min: chrF "
                f"{ratios[0]:.2f}x the example's, lowercased "
                f"{ratios[1]:.2f}x"
            )
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for system in dict.fromkeys(row["system"] for row in rows):
        points = sorted(
            (r["minutes"], r["chrf_lower"])
            for r in rows
            if r["system"] == system
        )
        axis.plot(*zip(*points), marker="o", label=system)
    axis.set_xlabel("training, CPU-minutes (one core)")
    axis.set_ylabel("chrF, test, lowercased")
    axis.set_title("Tatoeba en->es")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", help="the Tatoeba spa.txt(.gz) file")
    parser.add_argument("--out", required=True)
    parser.add_argument("--budgets", default="10,30,60")
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--systems", default="ours,peer")
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument(
        "--plot", default=os.path.join(HERE, "results", "race.png")
    )
    args = parser.parse_args(argv)
    budgets = [float(b) for b in args.budgets.split(",")]
    os.makedirs(args.out, exist_ok=True)
    if not args.table_only:
        if not os.path.exists(os.path.join(args.out, "test.tsv")):
            subprocess.run(
                [
                    sys.executable,
                    PEER,
                    "split",
                    "--pairs",
                    args.pairs,
                    "--out",
                    args.out,
                ],
                check=True,
            )
        systems = args.systems.split(",")
        if "ours" in systems:
            for minutes in budgets:
                ours(args.out, minutes, args.sentences, args.core)
        if "peer" in systems:
            peer(args.out, budgets, args.sentences, args.core)
    rows = collect(args.out, budgets, args.sentences)
    _write(os.path.join(args.out, "race.json"), rows)
    print(table(rows))
    if rows:
        plot(rows, args.plot)
        print(f"Plot: {args.plot}")


if __name__ == "__main__":
    main()
