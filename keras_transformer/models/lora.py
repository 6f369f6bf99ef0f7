"""LoRA: low-rank adapters on the projections of a pretrained model.

``enable_lora`` freezes the pretrained parts of a model (its embedding,
encoder, decoder) and adds to chosen projections inside them Keras' own
low-rank update (``Dense.enable_lora``, ``EinsumDense.enable_lora``): the
projection's kernel W stays fixed and the layer computes with
``W + (alpha / rank) * A @ B``, A (in, rank) and B (rank, out) trained. B
starts at zero, so the adapted model starts equal to the pretrained one.
Layers outside the frozen parts (a new classification head) train as usual.

Keras saves an adapted projection with its kernel merged (W + delta) and
resets A and B to zero when it loads one: a ``.keras`` file then serves
as the merged model, but training could not resume from it (with A = B = 0
neither gets a gradient). ``LoraState``, an attribute of the adapted model,
therefore also saves W, A and B apart, and restores them after the layers
load: a checkpoint of an adapted model resumes exactly. The model's config
records the adaptation, so a ``.keras`` file loads as the same adapted
model; ``merged_model`` gives the plain model, for export and serving.
"""

import weakref

import keras
import numpy as np

from keras_transformer.models.parts import find_parts

#: ``targets`` choices: the projections each one adapts, by layer name.
LORA_TARGETS = {
    # The LoRA paper's choice (Hu et al. 2021, section 7.1).
    "query_value": ("query", "value"),
    "attention": ("query", "key", "value", "attention_output"),
    "all": (
        "query",
        "key",
        "value",
        "attention_output",
        "inner_dense",
        "outer_dense",
    ),
}

#: The parts frozen (and adapted) when ``parts`` is not given: those a
#: pretrained start fills.
DEFAULT_PARTS = ("embedding", "encoder", "decoder", "output_bias")

ADAPTER_NAMES = ("lora_kernel_a", "lora_kernel_b")


def check_lora(rank, alpha=None, targets="query_value"):
    """Raises a one-line ``ValueError`` for an invalid rank, alpha or
    targets."""
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(
            f"LoRA rank must be a positive integer (e.g. 8); got {rank!r}."
        )
    if alpha is not None and not (
        isinstance(alpha, (int, float)) and alpha > 0
    ):
        raise ValueError(
            f"LoRA alpha must be a positive number (or None: the rank); "
            f"got {alpha!r}."
        )
    if targets not in LORA_TARGETS:
        raise ValueError(
            f"LoRA targets {targets!r} unknown; choose one of "
            f"{', '.join(LORA_TARGETS)}."
        )


def enable_lora(model, rank, alpha=None, targets="query_value", parts=None):
    """Freezes ``parts`` of ``model`` and adapts their ``targets``.

    Args:
        model: a built model with its parts as attributes.
        rank: the rank of the adapters (>= 1).
        alpha: the update's scale is ``alpha / rank`` (None: ``rank``).
        targets: a key of ``LORA_TARGETS``.
        parts: the names of the parts to freeze and adapt (None:
            ``DEFAULT_PARTS`` that the model has).

    Returns:
        The record of the adaptation (a dict: rank, alpha, targets, parts),
        as the model's config keeps it.

    Raises:
        ValueError: an invalid setting, a model adapted already, or no
            projection to adapt.
    """
    check_lora(rank, alpha, targets)
    if getattr(model, "lora", None):
        raise ValueError(
            f"enable_lora: model '{model.name}' has LoRA adapters already; "
            "enable them once, on the pretrained model."
        )
    found = find_parts(model, DEFAULT_PARTS if parts is None else parts)
    layers = _targets(found, LORA_TARGETS[targets])
    if not layers:
        raise ValueError(
            f"enable_lora: no {targets} projection in the parts "
            f"{[name for name, _ in found]} of model '{model.name}'."
        )
    for _, part in found:
        for variable in part.variables:
            variable.trainable = False
    for layer in layers:
        layer.enable_lora(rank, lora_alpha=alpha)
    record = {
        "rank": rank,
        "alpha": alpha,
        "targets": targets,
        "parts": [name for name, _ in found],
    }
    model.lora_state = LoraState(layers, name="lora_state")
    return record


def _targets(parts, names):
    """The projections named ``names`` inside ``parts``, each once, in a
    fixed order."""
    layers, seen = [], set()
    for _, part in parts:
        for layer in part._flatten_layers(include_self=True):
            if layer.name in names and id(layer) not in seen:
                seen.add(id(layer))
                layers.append(layer)
    return layers


def without_adapters(layer):
    """The weights of ``layer`` but its adapters: those a pretrained
    checkpoint gives values to."""
    return [w for w in layer.weights if w.name not in ADAPTER_NAMES]


def adapted_layers(model):
    """The projections of ``model`` that carry adapters (none for a model
    without LoRA)."""
    state = getattr(model, "lora_state", None)
    return list(state.layers) if state is not None else []


def base_kernel(layer):
    """The frozen kernel variable W of an adapted projection."""
    return next(v for v in layer.variables if v.name == "kernel")


def merged_kernel(layer):
    """``W + (alpha / rank) * A @ B`` of an adapted projection, in the
    kernel's own dtype (float32 under mixed precision too)."""
    kernel = base_kernel(layer)
    delta = keras.ops.matmul(layer.lora_kernel_a, layer.lora_kernel_b)
    delta = keras.ops.reshape(delta, kernel.shape)
    scale = layer.lora_alpha / layer.lora_rank
    return keras.ops.cast(kernel + scale * delta, kernel.dtype)


def merged_weights(model):
    """The weights of the plain model equal to adapted ``model``: its
    weights without the adapters, each adapted kernel merged."""
    layers = adapted_layers(model)
    merged = {id(base_kernel(layer)): layer for layer in layers}
    adapters = {
        id(getattr(layer, name)) for layer in layers for name in ADAPTER_NAMES
    }
    values = []
    for variable in model.weights:
        if id(variable) in adapters:
            continue
        layer = merged.get(id(variable))
        value = merged_kernel(layer) if layer is not None else variable
        values.append(keras.ops.convert_to_numpy(value))
    return values


class LoraState(keras.layers.Layer):
    """Saves and restores the unmerged state of an adapted model.

    Keras saves each adapted projection merged and zeroes its adapters on
    loading. This layer, set as the model's ``lora_state`` attribute, is
    saved after the model's layers and loaded after them: it stores every
    adapted projection's frozen kernel W and its adapters A and B, and puts
    them back. It holds no weights of its own and is not part of the
    model's graph.

    Args:
        layers: the adapted projections, in a fixed order (held weakly).
    """

    def __init__(self, layers, **kwargs):
        super().__init__(**kwargs)
        # Weak references: the layers belong to the model, and Keras would
        # track layers held directly as this layer's sublayers.
        self._references = [weakref.ref(layer) for layer in layers]
        self.built = True

    @property
    def layers(self):
        """The adapted projections."""
        return [reference() for reference in self._references]

    def _arrays(self, layer):
        return (base_kernel(layer), layer.lora_kernel_a, layer.lora_kernel_b)

    def save_own_variables(self, store):
        for index, layer in enumerate(self.layers):
            for offset, variable in enumerate(self._arrays(layer)):
                store[str(3 * index + offset)] = keras.ops.convert_to_numpy(
                    variable
                )

    def load_own_variables(self, store):
        if len(store.keys()) == 0:
            # A file of the merged model: train on from it with fresh
            # adapters (A random, B zero), so that both get gradients.
            self.reset_adapters()
            return
        if len(store.keys()) != 3 * len(self.layers):
            raise ValueError(
                f"LoRA state of {len(store.keys()) // 3} adapted projections "
                f"in the file, {len(self.layers)} in the model: load it "
                "into a model adapted with the same targets."
            )
        for index, layer in enumerate(self.layers):
            for offset, variable in enumerate(self._arrays(layer)):
                variable.assign(store[str(3 * index + offset)])

    def reset_adapters(self, seed=None):
        """A random (He uniform, as Keras), B zero: the model is unchanged
        and both adapters get gradients."""
        initializer = keras.initializers.HeUniform(seed=seed)
        for layer in self.layers:
            a = layer.lora_kernel_a
            a.assign(initializer(a.shape, dtype=a.dtype))
            layer.lora_kernel_b.assign(np.zeros(layer.lora_kernel_b.shape))


__all__ = [
    "LORA_TARGETS",
    "LoraState",
    "adapted_layers",
    "check_lora",
    "enable_lora",
    "merged_kernel",
    "merged_weights",
    "without_adapters",
]
