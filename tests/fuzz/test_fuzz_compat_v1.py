"""Fuzzing ``arrayinit.compat.v1``: TF1 and TF1-Keras initializers with hostile arguments and partitions."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrayinit.compat import v1
from arrayinit.compat.v1 import initializers as v1_initializers
from arrayinit.compat.v1.keras import initializers as v1_keras
from tests.fuzz import _strategies as S
from tests.fuzz._checks import clean_call, parts, raw
from tests.fuzz.test_fuzz_initializers import CONFIG_VALUES


def _factories() -> dict[str, object]:
    """Every class and factory function of the namespaces, once (TF's aliases name the same objects)."""
    out: dict[str, object] = {}
    for prefix, module in (("v1", v1), ("v1.initializers", v1_initializers), ("v1.keras.initializers", v1_keras)):
        for name in module.__all__:
            obj = getattr(module, name)
            skip = name in ("PartitionInfo", "Initializer", "get", "serialize", "deserialize")
            if callable(obj) and not skip and all(obj is not seen for seen in out.values()):
                out[f"{prefix}.{name}"] = obj
    return out


FACTORIES = _factories()
VALUES = {**CONFIG_VALUES, "factor": S.positive_numbers(), "verify_shape": st.sampled_from([True, False, None, 1])}
ANY_DTYPES = st.one_of(S.dtypes(), st.sampled_from(["int32", "int64", "uint8", "bool", "complex64", np.int16]))


class Partition:
    """A TF1 PartitionInfo-like object (attributes only)."""

    def __init__(self, full_shape, var_offset):
        self.full_shape, self.var_offset = full_shape, var_offset


def build(draw, factory):
    params = inspect.signature(factory).parameters
    keys = draw(st.lists(st.sampled_from(sorted(params)), unique=True)) if params else []
    kwargs = {k: draw(ANY_DTYPES if k == "dtype" else VALUES.get(k, st.none())) for k in keys}
    return clean_call(factory, **kwargs)


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.filterwarnings("ignore:`normal` is a deprecated alias:DeprecationWarning")  # TF1's own warning
@settings(max_examples=max(5, settings().max_examples // 2))
@given(data=st.data())
def test_calls_and_partitions(name, data):
    init = build(data.draw, FACTORIES[name])
    if init is None:
        return
    cfg = clean_call(init.get_config)
    assert cfg is not None
    again = type(init).from_config(cfg)
    assert again.get_config().keys() == cfg.keys()
    if getattr(init, "seed", 0) is None:  # TF1: unseeded gives new values every call; seed it to compare blocks
        init.seed = data.draw(S.seeds(valid_only=True), label="seed")
    full = data.draw(S.small_shapes(), label="full_shape")
    shape, offset = data.draw(S.blocks(full), label="block")
    dtype = data.draw(st.one_of(st.none(), ANY_DTYPES), label="dtype")
    hostile = data.draw(st.one_of(st.none(), st.sampled_from([(full, None), ("x", offset), ((2**70,), offset)])))
    whole = clean_call(init, full, dtype)
    info = v1.PartitionInfo(full_shape=full, var_offset=offset) if hostile is None else Partition(*hostile)
    block = clean_call(init, list(shape), dtype, partition_info=info)
    if whole is None:
        assert block is None or hostile is not None, "the block was generated but the whole tensor was refused"
        return
    assert isinstance(whole, np.ndarray)
    assert whole.shape == full
    for part in parts(whole):
        if whole.dtype.kind in "fc" or whole.dtype.name == "bfloat16":
            assert np.isfinite(part).all()
    if hostile is not None:
        return
    assert block is not None, "the whole tensor was generated but the block was refused"
    index = tuple(slice(o, o + n) for o, n in zip(offset, shape))
    assert block.shape == shape
    assert block.dtype == whole.dtype
    assert (raw(block) == raw(whole[index])).all()
