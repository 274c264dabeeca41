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
    try:
        keras.Variable(initializer=KerasInitializer("he_normal"), shape=(2, 2), dtype="int32", trainable=False)
        report["int_random_refused"] = False
    except ValueError as e:
        report["int_random_refused"] = "Only floating point" in str(e)
    print(json.dumps(report))


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
