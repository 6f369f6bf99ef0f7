"""Refusing a model and batch that cannot fit in memory, before any work.

``check_fits(experiment, device)`` estimates the least memory that training
needs: the weights, their gradients and Adam's two moments (16 bytes a
parameter in float32) plus the activations of one batch. The estimate is a
lower bound (it counts one stack of layers and one embedding table, the
smallest model any task builds), so a refusal is certain, not a guess: a
run it lets through may still run short, but a run it refuses cannot fit.
It checks a CPU run against the machine's memory; on an accelerator the
device's own limit applies and TensorFlow or JAX report it.
"""

import os

from keras_transformer.errors import ConfigError

#: Bytes a trained float32 parameter takes: the weight, its gradient and
#: Adam's first and second moments.
BYTES_PER_PARAMETER = 16
#: float32 activations.
BYTES_PER_ACTIVATION = 4


def _vocabulary_floor(tokenizer):
    """The fewest token ids the run's tokenizer will have."""
    if tokenizer.type == "byte":
        return 260
    if tokenizer.path is None:
        return tokenizer.vocab_size
    return 5  # an existing tokenizer: its size is not known yet


def parameter_floor(config):
    """The fewest parameters of a model of ``config`` (a
    ``TransformerConfig``): one embedding table and ``num_layers`` layers
    of self-attention and feed-forward network."""
    d, f = config.d_model, config.ff_dim
    layer = 4 * d * d + 2 * d * f
    return config.vocab_size * d + config.num_layers * layer


def activation_floor(config, batch_tokens, max_length):
    """The fewest activation values one training batch keeps for the
    backward pass: per layer and token, the feed-forward hidden units and
    four D-sized tensors, and each head's attention weights."""
    per_token = config.num_layers * (
        config.ff_dim + 4 * config.d_model + config.num_heads * max_length
    )
    return batch_tokens * per_token


def machine_memory():
    """The bytes of memory this process may use: the machine's, or its
    control group's limit when lower (None: unknown)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    for limit_file in (
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ):
        try:
            with open(limit_file) as handle:
                total = min(total, int(handle.read().strip()))
        except (OSError, ValueError):
            continue
    return total


def _gigabytes(count):
    return f"{count / 2**30:,.1f} GiB"


def _largest_part(parameters, activations, config):
    """The settings to name: those of the largest part of the estimate."""
    embedding = config.vocab_size * config.d_model * BYTES_PER_PARAMETER
    layers = parameters - embedding // BYTES_PER_PARAMETER
    parts = {
        "model.d_model, model.ff_dim or model.num_layers": layers
        * BYTES_PER_PARAMETER,
        "model.d_model or tokenizer.vocab_size": embedding,
        "training.batch_tokens": activations,
    }
    return max(parts, key=parts.get)


def check_fits(experiment, device="cpu", available=None):
    """Refuses an experiment whose model and batch cannot fit in memory.

    Args:
        experiment: the ``Experiment``.
        device: "cpu", "gpu" or "tpu" (only a CPU run is checked: it uses
            this machine's memory).
        available: the bytes to compare with (default: this machine's).

    Raises:
        ConfigError: naming the estimate, the memory and the settings to
            lower.

    Example:

    >>> check_fits(load_experiment("configs/demo.yaml",
    ...                            ["model.d_model=65536"]))
    Traceback (most recent call last):
    ConfigError: model.d_model=65536: training needs at least ...
    """
    if device != "cpu":
        return
    available = available or machine_memory()
    if not available:
        return
    training = experiment.training
    config = experiment.model_config(_vocabulary_floor(experiment.tokenizer))
    parameters = parameter_floor(config)
    activations = BYTES_PER_ACTIVATION * activation_floor(
        config, training.batch_tokens, training.max_length
    )
    needed = parameters * BYTES_PER_PARAMETER + activations
    if needed <= available:
        return
    settings = _largest_part(parameters, activations, config)
    raise ConfigError(
        f"model.d_model={config.d_model}, model.ff_dim={config.ff_dim}, "
        f"model.num_layers={config.num_layers}, training.batch_tokens="
        f"{training.batch_tokens}: training needs at least "
        f"{_gigabytes(needed)} ({parameters:,} parameters at "
        f"{BYTES_PER_PARAMETER} bytes each, with gradients and Adam's "
        f"moments, plus {_gigabytes(activations)} of activations), and "
        f"this machine has {_gigabytes(available)}. Lower {settings}."
    )


__all__ = ["check_fits", "machine_memory", "parameter_floor"]
