"""Builds, runs, saves and reloads a Keras model with arrayinit initializers under one backend.

Run by tests/test_keras.py as ``KERAS_BACKEND=... python tests/workers/keras_worker.py OUTDIR``;
prints a JSON report.
"""

import json
import pathlib
import sys

import keras
import numpy as np

import arrayinit as ai
from arrayinit import keras as aik
from arrayinit.keras import KerasInitializer


def main(outdir: pathlib.Path) -> None:
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, kernel_initializer=KerasInitializer(ai.HeNormal(seed=1)), name="conv")(inputs)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(
        5,
        kernel_initializer=KerasInitializer("glorot_uniform"),
        bias_initializer=KerasInitializer({"class_name": "Constant", "config": {"value": 0.25}}),
        name="dense",
    )(x)
    model = keras.Model(inputs, x)
    conv_w = keras.ops.convert_to_numpy(model.get_layer("conv").kernel)
    expected = ai.HeNormal(seed=1)((3, 3, 3, 4))
    data = np.linspace(-1, 1, 2 * 8 * 8 * 3, dtype=np.float32).reshape(2, 8, 8, 3)
    y = keras.ops.convert_to_numpy(model.predict(data, verbose=0))
    path = outdir / f"model-{keras.backend.backend()}.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    y2 = keras.ops.convert_to_numpy(again.predict(data, verbose=0))
    init_cfg = again.get_layer("conv").get_config()["kernel_initializer"]
    fresh = keras.initializers.deserialize(init_cfg)
    report = {
        "backend": keras.backend.backend(),
        "conv_equal_arrayinit": bool(np.array_equal(conv_w, expected)),
        "bias": keras.ops.convert_to_numpy(model.get_layer("dense").bias).tolist(),
        "predict_shape": list(y.shape),
        "reload_equal": bool(np.array_equal(y, y2)),
        "reloaded_initializer": type(fresh).__name__,
        "reloaded_values_equal": bool(np.array_equal(keras.ops.convert_to_numpy(fresh((3, 3, 3, 4))), expected)),
        "bf16": str(keras.ops.convert_to_numpy(KerasInitializer(ai.HeNormal(seed=1))((4, 4), "bfloat16")).dtype),
    }
    ints = {}
    for name, init, dtype in [
        ("zeros", "zeros", "int32"),
        ("ones", "ones", "bool"),
        ("constant", {"class_name": "Constant", "config": {"value": 3}}, "uint8"),
    ]:
        v = keras.Variable(initializer=KerasInitializer(init), shape=(2,), dtype=dtype, trainable=False)
        ref = keras.Variable(initializer=keras.initializers.get(init), shape=(2,), dtype=dtype, trainable=False)
        assert v.dtype == ref.dtype == dtype, (v.dtype, ref.dtype)
        assert np.array_equal(keras.ops.convert_to_numpy(v), keras.ops.convert_to_numpy(ref))
        ints[f"{name}/{dtype}"] = keras.ops.convert_to_numpy(v).tolist()
    report["int_variables"] = ints
    report["native"] = native_classes(outdir)
    gen = aik.HeUniform(seed=keras.random.SeedGenerator(5))  # the backend's seed state dtype (int32 under torch)
    first, second = gen((6, 4)), gen((6, 4))
    report["seed_generator"] = [
        bool(np.array_equal(first, ai.HeUniform(seed=5)((6, 4)))),
        bool(np.array_equal(second, ai.HeUniform(seed=5 + 2**32)((6, 4)))),
    ]
    try:
        keras.Variable(initializer=KerasInitializer("he_normal"), shape=(2, 2), dtype="int32", trainable=False)
        report["int_random_refused"] = False
    except ValueError as e:
        report["int_random_refused"] = "Only floating point" in str(e)
    print(json.dumps(report))


def native_classes(outdir: pathlib.Path) -> dict:
    """A model built with the Keras-native classes saves and loads back with the same weights and classes."""
    inputs = keras.Input((6, 16))
    x = keras.layers.EinsumDense(
        "abc,cde->abde", output_shape=(None, 4, 8), kernel_initializer=aik.LecunNormal(seed=2), name="einsum"
    )(inputs)
    x = keras.layers.Reshape((6, 32))(x)
    x = keras.layers.MultiHeadAttention(2, 8, kernel_initializer=aik.GlorotUniform(seed=3), name="mha")(x, x)
    x = keras.layers.Dense(3, kernel_initializer=aik.Orthogonal(seed=4), bias_initializer=aik.Constant(0.5))(x)
    model = keras.Model(inputs, x)
    path = outdir / f"native-{keras.backend.backend()}.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    weights = [keras.ops.convert_to_numpy(w) for w in model.weights]
    reloaded = [keras.ops.convert_to_numpy(w) for w in again.weights]
    rebuilt = keras.Model.from_config(model.get_config())  # the initializers run again from their configs
    rebuilt_w = [keras.ops.convert_to_numpy(w) for w in rebuilt.weights]
    einsum = keras.ops.convert_to_numpy(model.get_layer("einsum").kernel)
    expect = ai.VarianceScaling(1.0, seed=2, input_axes=[0], output_axes=[1, 2])((16, 4, 8))
    layer_init = again.get_layer("einsum").kernel_initializer
    return {
        "weights_equal_after_load": len(weights) == len(reloaded) and all(map(np.array_equal, weights, reloaded)),
        "seeded_weights_equal_after_rebuild": bool(np.array_equal(einsum, rebuilt_w[0])),
        "einsum_equals_arrayinit": bool(np.array_equal(einsum, expect)),
        "reloaded_class": f"{type(layer_init).__module__}.{type(layer_init).__name__}",
        "reloaded_is_keras_lecun": isinstance(layer_init, keras.initializers.LecunNormal),
    }


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
