"""Fuzzing the core catalogue: hostile configs through from_config/get/deserialize, calls, blocks, fill_."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import arrayinit as ai
from tests.fuzz import _strategies as S
from tests.fuzz._checks import as_f64, clean_call, parts, raw

TRUNC = 0.87962566103423978  # stddev of the standard normal truncated to [-2, 2] (Keras)
CLASSES = sorted({type(ai.get(n)) for n in ai.registered_names()}, key=lambda c: c.__name__)
NAMES = ai.registered_names()

axes = st.one_of(
    st.none(),
    st.integers(-5, 4),
    st.lists(st.integers(-5, 4), max_size=3),
    st.tuples(st.integers(-3, 3)),
    st.sampled_from([2**70, -(2**70), 1.5, "0", True, [True], [0.5], {0: 1}, {0}, [None], [[0]], np.int64(1)]),
)
CONFIG_VALUES = {
    "seed": st.one_of(st.none(), S.seeds()),
    "scale": S.positive_numbers(),
    "mode": st.sampled_from(["fan_in", "fan_out", "fan_avg", "fan_geo_avg", "FAN_IN", "fan", "", None, 1, ["fan_in"]]),
    "distribution": st.sampled_from(
        ["truncated_normal", "untruncated_normal", "uniform", "normal", "Normal", "gamma", "", None, 0, ("uniform",)]
    ),
    "input_axes": axes,
    "output_axes": axes,
    "in_axis": axes,
    "out_axis": axes,
    "batch_axis": axes,
    "mean": S.numbers(),
    "stddev": S.positive_numbers(),
    "minval": S.numbers(),
    "maxval": S.numbers(),
    "gain": S.numbers(-1e3, 1e3),
    "value": S.numbers(),
    "side": st.sampled_from(["real", "imag", "complex", "", None, 0]),
    "window": st.one_of(
        st.sampled_from(["hann", "hamming", "tukey", "boxcar", "nope", "", None, 3, ("kaiser", 1.0), ["hann"]]),
        st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=6),
    ),
    "scaling": st.sampled_from(["density", "spectrum", None, "both", 1]),
    "periodic": st.sampled_from([True, False, None, 1, "yes", np.bool_(True)]),
    "dtype": S.dtypes(),
    "name": st.text(max_size=5),
}


@st.composite
def configs(draw, cls) -> dict:
    """A config for ``cls``: some of its own keys with valid or hostile values, sometimes a stray key."""
    own = list(cls().get_config())
    if cls is ai.VarianceScaling:
        own += ["in_axis", "out_axis", "batch_axis"]
    keys = draw(st.lists(st.sampled_from(own), unique=True)) if own else []
    cfg = {k: draw(CONFIG_VALUES[k]) for k in keys}
    if draw(st.integers(0, 9)) == 0:
        cfg[draw(st.sampled_from(sorted(CONFIG_VALUES)))] = draw(st.integers() | st.text(max_size=3))
    return cfg


def build(draw, cls):
    """An instance of ``cls`` (or None after a clean error), by one of the public routes."""
    cfg = draw(configs(cls), label="config")
    route = draw(st.sampled_from(["from_config", "get", "deserialize", "constructor"]), label="route")
    name = draw(st.sampled_from([n for n in NAMES if type(ai.get(n)) is cls]), label="name")
    if route == "from_config":
        return clean_call(cls.from_config, cfg)
    if route == "get":
        return clean_call(ai.get, {"class_name": name, "config": cfg})
    if route == "deserialize":
        extra = draw(st.sampled_from([{}, {"module": "keras.initializers"}, {"registered_name": f"arrayinit>{name}"}]))
        return clean_call(ai.deserialize, {"class_name": name, "config": cfg, **extra})
    # the constructor itself: keyword arguments it takes (a stray one is Python's own TypeError)
    taken = inspect.signature(cls).parameters
    return clean_call(cls, **{k: v for k, v in cfg.items() if k in taken})


def fans(init, full) -> float:
    fan_in, fan_out = init.fans(full)
    n = {
        "fan_in": fan_in,
        "fan_out": fan_out,
        "fan_avg": (fan_in + fan_out) / 2,
        "fan_geo_avg": math.sqrt(fan_in * fan_out),
    }[init.mode]
    return max(1.0, n)


COMPLEX_TRUNC = 0.95311164380491208  # jax's divisor of the complex truncated normal's stddev


def check_values(init, x, full) -> None:
    """``x`` (a block of ``init``'s tensor of shape ``full``) is finite and inside the initializer's bounds."""
    for part in parts(x):
        assert np.isfinite(part).all()
    if x.size == 0:
        return
    grid = np.asarray(x).real.dtype  # the dtype of the values (of each part of complex values)
    cast = lambda value: float(as_f64(np.asarray(value).astype(grid)))  # noqa: E731
    if np.iscomplexobj(x):
        check_complex(init, x, full, cast)
        return
    v = as_f64(x)
    if isinstance(init, ai.Zeros):
        assert (v == 0).all()
    elif isinstance(init, ai.Ones):
        assert (v == 1).all()
    elif isinstance(init, ai.Constant):
        assert (v == cast(init._value)).all()
    elif isinstance(init, ai.RandomUniform):
        lo, hi = init.minval, init.maxval
        if lo == hi:
            assert (v == cast(lo)).all()
        else:
            assert ((v >= lo) & (v < hi)).all(), (lo, hi, v.min(), v.max())
    elif isinstance(init, ai.TruncatedNormal):
        lo, hi = init.mean - 2 * init.stddev, init.mean + 2 * init.stddev
        assert ((v >= lo) & (v <= hi)).all(), (lo, hi, v.min(), v.max())
    elif isinstance(init, ai.RandomNormal):
        slack = 9.3 * init.stddev * 1.001 + abs(init.mean) * 2**-7 + 2**-24  # 2**-24: float16's subnormal step
        assert (np.abs(v - init.mean) <= slack).all()
    elif isinstance(init, ai.VarianceScaling):
        sigma = math.sqrt(init.scale / fans(init, full))
        kind = init.distribution
        if kind == "truncated_normal":  # the Keras cut at two standard deviations before truncation
            limit = 2 * sigma / TRUNC
            assert (np.abs(v) <= limit * (1 + 1e-12)).all(), (limit, np.abs(v).max())
        elif kind == "uniform":
            limit = math.sqrt(3.0) * sigma
            assert ((v >= -limit * (1 + 1e-12)) & (v < limit * (1 + 1e-12))).all(), (limit, v.min(), v.max())
        else:
            assert (np.abs(v) <= 9.3 * sigma).all()
    elif isinstance(init, (ai.Orthogonal, ai.Identity)):
        # |values| <= |gain| (gain as rounded to the dtype)
        assert (np.abs(v) <= cast(abs(init.gain))).all(), (init.gain, np.abs(v).max())


def check_complex(init, x, full, cast) -> None:
    """Bounds of complex values (jax's complex forms, torch's complex uniform, constants)."""
    z = np.asarray(x).astype(np.complex128)
    re, im = z.real, z.imag
    eps = 2.0**-52 if x.dtype == np.complex128 else 2.0**-23
    if isinstance(init, ai._initializers.ConstantInitializer):
        assert (re == cast(init._value)).all()
        assert (im == 0).all()
    elif isinstance(init, ai.RandomUniform):
        lo, hi = init.minval, init.maxval
        for v in (re, im):
            assert (v == cast(lo)).all() if lo == hi else ((v >= lo) & (v < hi)).all(), (lo, hi, v.min(), v.max())
    elif isinstance(init, ai.RandomNormal):
        assert (np.abs(z - init.mean) <= 9.3 * init.stddev * (1 + 1e-6) + 4 * eps * abs(init.mean)).all()
    elif isinstance(init, ai.VarianceScaling):
        sigma = math.sqrt(init.scale / fans(init, full))
        limit = {
            "uniform": math.sqrt(2.0) * sigma,  # the disk of radius sqrt(2 * variance)
            "truncated_normal": 2 * sigma / COMPLEX_TRUNC,  # modulus cut at two standard deviations
            "untruncated_normal": 9.3 * sigma,
        }[init.distribution]
        assert (np.abs(z) <= limit * (1 + 8 * eps)).all(), (limit, np.abs(z).max())
    else:
        raise AssertionError(f"{type(init).__name__} gave complex values")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@given(data=st.data())
def test_configs_and_calls(cls, data):
    init = build(data.draw, cls)
    if init is None:
        return
    assert isinstance(init, cls)
    # the config round-trips: same class, same config
    again = ai.deserialize(ai.serialize(init))
    assert type(again) is cls
    assert again.get_config() == init.get_config()
    shape = data.draw(S.shapes(), label="shape")
    dtype = data.draw(st.one_of(st.just(None), S.dtypes()), label="dtype")
    x = clean_call(init, shape, dtype)
    if x is None:
        return
    assert isinstance(x, np.ndarray)
    assert x.shape == S.normalized(shape)
    if dtype is None:
        assert x.dtype.name == "float32"
    elif isinstance(dtype, str) and dtype in S.DTYPE_SPELLINGS:
        assert x.dtype.name == S.DTYPE_SPELLINGS[dtype]
    check_values(init, x, x.shape)
    if init.get_config().get("seed") is not None or "seed" not in init.get_config():
        assert (raw(init(shape, dtype)) == raw(x)).all(), "a seeded initializer gave other values on a second call"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@given(data=st.data())
def test_block_equals_slice_of_whole(cls, data):
    init = build(data.draw, cls)
    if init is None:
        return
    if "seed" in init.get_config() and init.get_config()["seed"] is None:
        init = type(init).from_config({**init.get_config(), "seed": data.draw(S.seeds(valid_only=True))})
    full = data.draw(S.small_shapes(), label="full_shape")
    shape, offset = data.draw(S.blocks(full), label="block")
    dtype = data.draw(S.dtypes(valid_only=True, complex_ok=True), label="dtype")
    whole = clean_call(init, full, dtype)
    block = clean_call(init, shape, dtype, full_shape=full, offset=offset)
    if whole is None:
        assert block is None, "the block was generated but the whole tensor was refused"
        return
    assert block is not None, "the whole tensor was generated but the block was refused"
    check_values(init, whole, full)
    index = tuple(slice(o, o + n) for o, n in zip(offset, shape))
    assert block.shape == shape
    assert block.dtype == whole.dtype
    assert (raw(block) == raw(whole[index])).all()


BAD_FILL_DTYPES = [np.int32, np.uint16, np.bool_, np.longdouble, np.int8, np.dtype(">f4")]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@given(data=st.data())
def test_fill_numpy(cls, data):
    init = build(data.draw, cls)
    if init is None:
        return
    if "seed" in init.get_config() and init.get_config()["seed"] is None:
        init = type(init).from_config({**init.get_config(), "seed": data.draw(S.seeds(valid_only=True))})
    shape = data.draw(S.small_shapes(max_values=1024), label="shape")
    kind = data.draw(st.sampled_from(["contiguous", "strided", "transposed", "read-only", "wrong dtype"]), label="kind")
    dtype = data.draw(S.dtypes(valid_only=True), label="dtype")
    np_dtype = np.dtype(__import__("ml_dtypes").bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    if kind == "wrong dtype":
        np_dtype = np.dtype(data.draw(st.sampled_from(BAD_FILL_DTYPES)))
    if kind == "strided":
        x = np.zeros((*shape[:-1], 2 * shape[-1]) if shape else (2,), np_dtype)
        x = x[..., ::2] if shape else x[0:0]
    elif kind == "transposed":
        x = np.zeros(shape[::-1], np_dtype).T
    else:
        x = np.zeros(shape, np_dtype)
    if kind == "read-only":
        x.flags.writeable = False
    before = x.copy()
    y = clean_call(init.fill_, x)
    if y is None:
        if kind in ("read-only", "wrong dtype") or x.size:
            assert (raw(x) == raw(before)).all() or kind != "read-only"
        return
    assert kind not in ("read-only", "wrong dtype"), f"fill_ accepted a {kind} array"
    assert y is x
    expected = clean_call(init, x.shape, dtype)
    assert expected is not None, "fill_ filled an array that a call of the same shape refuses"
    assert (raw(x) == raw(expected)).all()


@given(shape=S.shapes(), in_axis=axes, out_axis=axes, batch_axis=axes, keras_axes=st.tuples(axes, axes))
def test_compute_fans(shape, in_axis, out_axis, batch_axis, keras_axes):
    plain = clean_call(ai.compute_fans, shape)
    if plain is not None:
        dims = S.normalized(shape)
        if len(dims) == 0:
            ref = (1, 1)
        elif len(dims) == 1:
            ref = (dims[0], dims[0])
        else:
            rf = math.prod(dims[:-2])
            ref = (dims[-2] * rf, dims[-1] * rf)
        assert plain == ref
    for kwargs in (
        {"in_axis": in_axis, "out_axis": out_axis, "batch_axis": batch_axis},
        {"input_axes": keras_axes[0], "output_axes": keras_axes[1]},
    ):
        fans = clean_call(ai.compute_fans, shape, **kwargs)
        if fans is not None:
            assert len(fans) == 2
            assert all(isinstance(f, (int, float)) and not isinstance(f, bool) and math.isfinite(f) for f in fans)
            assert all(f >= 0 for f in fans)


names = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec=None, exclude_categories=())),
    st.sampled_from(["", "\ud800", "a\x00b", "é" * 1000, "\U0010ffff", b"kernel", None, 3, ["a"]]),
)


@given(seed=S.seeds(), name=names)
def test_derive_seed(seed, name):
    s = clean_call(ai.derive_seed, seed, name)
    if s is not None:
        assert type(s) is int
        assert 0 <= s < 2**64
        assert ai.derive_seed(seed, name) == s
        assert clean_call(ai.random.bits, (2,), seed=s) is not None


@given(identifier=st.one_of(st.sampled_from(NAMES), st.text(max_size=12), st.sampled_from(S.HOSTILE_NUMBERS)))
def test_get_identifiers(identifier):
    init = clean_call(ai.get, identifier)
    if init is not None:
        assert isinstance(init, ai.Initializer) or callable(init)


hostile_serialized = st.one_of(
    st.dictionaries(st.sampled_from(["class_name", "config", "module", "registered_name", "x"]), st.none() | st.text()),
    st.fixed_dictionaries(
        {
            "class_name": st.sampled_from(NAMES) | st.text(max_size=8) | st.integers(),
            "config": st.none() | st.lists(st.integers()) | st.dictionaries(st.text(max_size=4), st.integers()),
        }
    ),
    st.sampled_from(
        [
            {"class_name": "os.system", "config": {"command": "true"}},
            {"class_name": "builtins>eval", "config": {}},
            {"class_name": "arrayinit>HeNormal", "config": {"seed": 1}},
            {"class_name": "HeNormal", "registered_name": 3},
            {"class_name": "Constant", "config": {"value": {"class_name": "Ones"}}},
        ]
    ),
)


@given(config=hostile_serialized)
def test_deserialize_hostile(config):
    init = clean_call(ai.deserialize, config)
    if init is not None:
        assert isinstance(init, ai.Initializer)
        assert type(init).__module__.startswith("arrayinit")
