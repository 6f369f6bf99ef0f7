"""The layer-test harness that every keras_transformer layer goes through.

``run_layer_test`` checks, for one layer configuration:

1. ``get_config`` is complete and JSON-serializable, and ``from_config``
   rebuilds the same config;
2. an eager call gives the expected output shape, and
   ``compute_output_shape`` agrees with it;
3. a symbolic (functional API) call gives the same shapes, with a free
   batch axis;
4. one ``fit`` step runs, gives a finite loss and changes the layer's own
   trainable weights (so gradients flow through it);
5. a ``.keras`` save/load round trip gives identical outputs;
6. under ``mixed_float16`` and ``mixed_bfloat16`` the variables stay
   float32, the outputs have the compute dtype and are finite.
"""

import json

import keras
import numpy as np
from keras import tree


def _first(outputs):
    return tree.flatten(outputs)[0]


def _shape(x):
    return tuple(x.shape)


def _to_inputs(inputs):
    return inputs if isinstance(inputs, (tuple, list)) else (inputs,)


def run_layer_test(
    layer_cls,
    init_kwargs,
    inputs,
    expected_output_shape,
    call_kwargs=None,
    tensor_kwargs=None,
    tmp_path=None,
    mixed_precision=True,
    check_weights_change=True,
):
    """Runs the six checks described in the module docstring.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments.
        inputs: a numpy array or a tuple of arrays, the positional call
            arguments (batch first).
        expected_output_shape: shape of the first output.
        call_kwargs: extra non-tensor keyword arguments of the call.
        tensor_kwargs: keyword arguments of the call that are arrays with a
            batch axis (masks); they become model inputs too.
        tmp_path: a folder for the ``.keras`` file.
        mixed_precision: whether to run the mixed-precision checks.
        check_weights_change: assert that one fit step moves the layer's
            trainable weights.
    """
    call_kwargs = call_kwargs or {}
    tensor_kwargs = tensor_kwargs or {}
    inputs = _to_inputs(inputs)
    names = list(tensor_kwargs)
    all_inputs = list(inputs) + [np.asarray(tensor_kwargs[n]) for n in names]

    def call(layer, tensors):
        positional = tensors[: len(inputs)]
        named = dict(zip(names, tensors[len(inputs) :]))
        return layer(*positional, **named, **call_kwargs)

    # 1. Config round trip through JSON.
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    for key, value in init_kwargs.items():
        if isinstance(value, (bool, int, float, str, type(None))):
            assert config[key] == value, (key, config[key], value)
    config_json = json.loads(json.dumps(config))
    clone = layer_cls.from_config(config_json)
    assert clone.get_config() == config

    # 2. Eager call and compute_output_shape.
    outputs = call(layer, all_inputs)
    assert _shape(_first(outputs)) == tuple(expected_output_shape)
    shape_args = [_shape(x) for x in inputs]
    assert tuple(layer.compute_output_shape(*shape_args)) == tuple(
        expected_output_shape
    )

    # 3. Symbolic call: same structure and shapes, free batch axis.
    symbolic_inputs = [
        keras.Input(shape=x.shape[1:], dtype=str(x.dtype), batch_size=None)
        for x in all_inputs
    ]
    sym_layer = layer_cls.from_config(config_json)
    sym_outputs = call(sym_layer, symbolic_inputs)
    eager_flat, sym_flat = tree.flatten(outputs), tree.flatten(sym_outputs)
    assert len(eager_flat) == len(sym_flat)
    for eager, sym in zip(eager_flat, sym_flat):
        assert sym.shape[0] is None
        assert tuple(sym.shape[1:]) == _shape(eager)[1:]

    # 4. One fit step through a small head.
    head = keras.layers.Dense(1, name="head")
    model = keras.Model(symbolic_inputs, head(_first(sym_outputs)))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    before = [np.array(w) for w in sym_layer.trainable_weights]
    target = np.ones(_shape(_first(outputs))[:-1] + (1,), "float32")
    history = model.fit(
        all_inputs, target, epochs=1, batch_size=len(inputs[0]), verbose=0
    )
    assert np.isfinite(history.history["loss"][0])
    if check_weights_change:
        assert before, f"{layer_cls.__name__} has no trainable weights"
        after = [np.array(w) for w in sym_layer.trainable_weights]
        assert any(not np.allclose(a, b) for a, b in zip(before, after))

    # 5. .keras save/load gives identical outputs.
    if tmp_path is not None:
        path = str(tmp_path / f"{layer_cls.__name__}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        np.testing.assert_array_equal(
            model.predict(all_inputs, verbose=0),
            loaded.predict(all_inputs, verbose=0),
        )

    # 6. Mixed precision.
    if mixed_precision:
        for policy in ("mixed_float16", "mixed_bfloat16"):
            mixed = layer_cls(**init_kwargs, dtype=policy)
            mixed_outputs = call(mixed, all_inputs)
            compute = keras.DTypePolicy(policy).compute_dtype
            for tensor in tree.flatten(mixed_outputs):
                assert keras.backend.standardize_dtype(tensor.dtype) == compute
                assert np.all(np.isfinite(np.array(tensor, "float32")))
            for weight in mixed.weights:
                assert weight.dtype == "float32", weight.path
    return outputs
