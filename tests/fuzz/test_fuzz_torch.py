"""Fuzzing ``arrayinit.torch`` on CPU tensors: a filled tensor inside its bounds, or a clear, named error."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz import _strategies as S
from tests.fuzz._checks import clean_call, raw

torch = pytest.importorskip("torch", reason="torch is installed by the fuzz and tests_xp nox sessions")
at = pytest.importorskip("arrayinit.torch")

IN_PLACE = sorted(
    n for n in at.__all__ if n not in ("calculate_gain", "init_module", "init_dtensor_", "torch_defaults")
)
DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}
PARAMS = {
    "a": st.one_of(st.floats(-10, 10), S.numbers()),
    "b": st.one_of(st.floats(-10, 10), S.numbers()),
    "mean": st.one_of(st.floats(-10, 10), S.numbers()),
    "std": st.one_of(st.floats(0, 10), S.positive_numbers()),
    "val": S.numbers(),
    "gain": st.one_of(st.floats(-10, 10), S.numbers()),
    "sparsity": st.one_of(st.floats(0, 1), S.numbers()),
    "groups": st.one_of(st.integers(-1, 4), st.sampled_from([0, 1.5, "2", None, True, 2**70])),
    "mode": st.sampled_from(["fan_in", "fan_out", "fan_avg", "", None, 3]),
    "nonlinearity": st.sampled_from(["relu", "leaky_relu", "linear", "tanh", "selu", "sigmoid", "nope", None, 1]),
    "generator": st.sampled_from([None, None, None, "gen", 3]),
    "seed": st.one_of(st.none(), S.seeds()),
}


@st.composite
def tensors(draw):
    shape = draw(S.small_shapes(max_rank=5, max_values=1024))
    kind = draw(st.sampled_from(["plain"] * 6 + ["transposed", "requires_grad", "int", "complex", "expanded"]))
    dtype = DTYPES[draw(st.sampled_from(sorted(DTYPES)))]
    if kind == "int":
        dtype = torch.int32
    if kind == "complex":
        dtype = torch.complex64
    t = torch.zeros(shape, dtype=dtype)
    if kind == "transposed" and len(shape) >= 2:
        t = torch.zeros(shape[::-1], dtype=dtype).permute(*range(len(shape) - 1, -1, -1))
    elif kind == "requires_grad" and dtype.is_floating_point:
        t = torch.nn.Parameter(t)
    elif kind == "expanded" and shape:
        t = torch.zeros((1, *shape[1:]), dtype=dtype).expand(shape)
    return t, kind


def values(t) -> np.ndarray:
    x = t.detach()
    if x.dtype == torch.bfloat16 or x.dtype == torch.float16:
        x = x.float()
    return x.numpy().astype(np.complex128 if x.is_complex() else np.float64)


@pytest.mark.parametrize("name", IN_PLACE)
@pytest.mark.filterwarnings("ignore:`nn.init.:FutureWarning")  # torch's deprecated names without the underscore
@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op:UserWarning")  # torch's own
@settings(max_examples=max(5, settings().max_examples // 5))
@given(data=st.data())
def test_in_place_functions(name, data):
    fn = getattr(at, name)
    params = inspect.signature(fn).parameters
    optional = [k for k, p in params.items() if k != "tensor" and p.default is not inspect.Parameter.empty]
    required = [k for k, p in params.items() if k != "tensor" and p.default is inspect.Parameter.empty]
    chosen = data.draw(st.lists(st.sampled_from(optional), unique=True), label="keys") if optional else []
    kwargs = {k: data.draw(PARAMS.get(k, st.none()), label=k) for k in [*required, *chosen]}
    if kwargs.get("generator") == "gen":
        kwargs["generator"] = torch.Generator().manual_seed(0)
    t, _kind = data.draw(tensors(), label="tensor")
    result = clean_call(fn, t, named=False, **kwargs)  # torch's own messages, as torch words them
    if result is None:
        return
    assert isinstance(result, torch.Tensor)
    assert result.shape == t.shape
    v = values(result)
    assert np.isfinite(v).all()
    if not v.size:
        return
    get = lambda key, default: float(kwargs[key]) if kwargs.get(key) is not None else default  # noqa: E731
    if name.startswith("uniform"):
        a, b = get("a", 0.0), get("b", 1.0)
        for part in (v.real, v.imag) if np.iscomplexobj(v) else (v,):  # complex: each part (torch's rand)
            if a == b:  # a, rounded to the dtype of the values
                grid = result.real.dtype if result.is_complex() else result.dtype
                assert (part == float(torch.tensor(a, dtype=torch.float64).to(grid))).all(), (a, part)
            else:
                assert ((part >= a) & (part < b)).all(), (a, b, part.min(), part.max())
    elif name.startswith("trunc_normal"):
        a, b = get("a", -2.0), get("b", 2.0)
        assert ((v >= a) & (v <= b)).all(), (a, b, v.min(), v.max())
    elif name in ("ones_",):
        assert (v == 1).all()
    elif name in ("zeros_",):
        assert (v == 0).all()
    elif name.startswith(("eye", "dirac")):
        assert np.isin(v, (0.0, 1.0)).all()
    elif name.startswith("orthogonal"):
        gain = abs(get("gain", 1.0))
        assert (np.abs(v) <= gain * (1 + 2**-7)).all()


@pytest.mark.parametrize("name", ["normal_", "uniform_", "trunc_normal_"])
@given(data=st.data())
def test_blocks_equal_the_slice_of_the_whole(name, data):
    fn = getattr(at, name)
    full = data.draw(S.small_shapes(max_values=1024), label="full_shape")
    shape, offset = data.draw(S.blocks(full), label="block")
    dtype = DTYPES[data.draw(st.sampled_from(sorted(DTYPES)), label="dtype")]
    seed = data.draw(S.seeds(valid_only=True), label="seed")
    whole = clean_call(fn, torch.empty(full, dtype=dtype), seed=seed)
    block = clean_call(fn, torch.empty(shape, dtype=dtype), seed=seed, full_shape=full, offset=offset)
    assert (whole is None) == (block is None)
    if whole is None:
        return
    index = tuple(slice(o, o + n) for o, n in zip(offset, shape))
    as_bits = lambda t: raw(t.view(torch.int16).numpy() if t.dtype == torch.bfloat16 else t.numpy())  # noqa: E731
    assert (as_bits(block) == as_bits(whole[index].contiguous())).all()
    assert math.isfinite(float(values(whole).sum())) or whole.numel() == 0
