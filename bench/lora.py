"""LoRA against full fine-tuning of a published checkpoint: quality,
parameters that train, step time and peak memory.

The config's run is trained several times, each in its own process, on the
same labels, batches, steps and seed: once with every weight training
("full", the config as it is) and once for each ``--learning-rates`` with
LoRA adapters of rank ``--rank`` on the frozen pretrained parts
(``training.lora_rank``). Every run is evaluated on the validation split;
the LoRA learning rate with the best validation accuracy is chosen there,
and only the full run and the chosen LoRA run are then evaluated on the
test split, once.

Columns: the accuracies; the parameters that train; the median training
step time in ms (the two chosen models in one process, paired rounds of
``train_on_batch`` over the same training batches, after a first pass that
compiles every batch shape); the training process's peak resident memory
(MiB, from ``wait4``) and its wall time (data, training, checkpoints and
the validation evaluation).

Example (the table of docs/checkpoints.md; one core, about 15 minutes)::

    taskset -c 0 .venv/bin/python bench/lora.py configs/sst2_minilm.yaml \\
        --workdir runs/lora-bench
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _train(config, workdir, settings):
    """Trains in a new process; returns (seconds, peak RSS in MiB)."""
    command = [sys.executable, "-m", "keras_transformer", "train", config]
    command += ["--workdir", workdir, "--set", "evaluation.split=validation"]
    for setting in settings:
        command += ["--set", setting]
    print("$ " + " ".join(command[1:]), flush=True)
    started = time.time()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        sys.exit(f"training failed ({process.returncode}): {workdir}")
    return time.time() - started, usage.ru_maxrss / 1024


def _accuracy(workdir, split):
    name = os.path.join(workdir, "eval", f"{split}.json")
    if split == "test" and not os.path.exists(name):
        subprocess.run(
            [sys.executable, "-m", "keras_transformer", "evaluate"]
            + ["--workdir", workdir, "--split", "test"],
            check=True,
        )
    with open(name) as handle:
        return json.load(handle)["accuracy"]


def _models(workdirs):
    """The compiled training model of each run (weights as initialised:
    the step time does not depend on them) and the run's task."""
    from keras_transformer import run
    from keras_transformer.train import compile_model
    from keras_transformer.training import distribute

    models = {}
    for name, workdir in workdirs.items():
        task = run.load_task(workdir)
        model = task.build_model()
        task.start.enable_lora(model, log=lambda line: None)
        jit = distribute.resolve_jit_compile(
            task.experiment.training.jit_compile, None
        )
        compile_model(model, task, jit)
        models[name] = (model, task)
    return models


def _step_times(workdirs, batches, rounds):
    """Median ms per training step of each run's model, paired rounds."""
    models = _models(workdirs)
    task = next(iter(models.values()))[1]
    data = task.make_dataset(task.load_splits()["train"], training=True)
    data = list(data.take(batches))
    for model, _ in models.values():  # compiles each batch shape
        for batch in data:
            model.train_on_batch(*batch)
    times = {name: [] for name in models}
    for index in range(rounds):
        print(f"step time, round {index + 1} of {rounds} ...", flush=True)
        for name in models if index % 2 == 0 else list(models)[::-1]:
            model = models[name][0]
            for batch in data:
                started = time.perf_counter()
                model.train_on_batch(*batch)
                times[name].append(time.perf_counter() - started)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def _trainable(workdir):
    from keras_transformer import run

    model = run.load_finished(workdir)[1]
    trainable = sum(int(v.numpy().size) for v in model.trainable_variables)
    return trainable, model.count_params()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config", help="a config with model.init_from")
    parser.add_argument("--workdir", required=True, help="runs go here")
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument(
        "--learning-rates", type=float, nargs="+", default=[5e-4, 1e-3, 2e-3]
    )
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()

    from tabulate import tabulate

    runs = {"full": []}
    for rate in args.learning_rates:
        runs[f"LoRA r{args.rank} lr {rate:g}"] = [
            f"training.lora_rank={args.rank}",
            f"training.learning_rate={rate}",
        ]
    rows = {}
    for name, settings in runs.items():
        workdir = os.path.join(args.workdir, name.replace(" ", "_"))
        seconds, peak = _train(args.config, workdir, settings)
        rows[name] = {
            "workdir": workdir,
            "validation accuracy": _accuracy(workdir, "validation"),
            "train s": seconds,
            "peak MiB": peak,
        }
    lora = max(
        (name for name in rows if name != "full"),
        key=lambda name: rows[name]["validation accuracy"],
    )
    chosen = {name: rows[name]["workdir"] for name in ("full", lora)}
    steps = _step_times(chosen, args.batches, args.rounds)
    table = []
    for name, row in rows.items():
        trainable, total = _trainable(row["workdir"])
        table.append(
            {
                "run": name + (" (chosen)" if name == lora else ""),
                "validation accuracy": row["validation accuracy"],
                "test accuracy": (
                    _accuracy(row["workdir"], "test") if name in chosen else ""
                ),
                "trainable": f"{trainable:,} ({100 * trainable / total:.2f}%)",
                "step ms": steps.get(name, ""),
                "peak MiB": row["peak MiB"],
                "train s": row["train s"],
            }
        )
    print(tabulate(table, headers="keys", floatfmt=".4g"))


if __name__ == "__main__":
    main()
