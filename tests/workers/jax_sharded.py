"""arrayinit.flax under jax.jit on 8 host CPU devices: each device generates only its own shard.

Run by tests/test_jax_op.py in a pytest subprocess with
``XLA_FLAGS=--xla_force_host_platform_device_count=8`` (the flag must be set
before jax starts). Every sharding recipe is compiled and its program read:
no operation has the full tensor's shape, and the arrayinit op has the shard's;
the values equal the unsharded array, the eager one, and ``arrayinit.random``
for the key's seed.
"""

import re

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from jax.sharding import AxisType, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import arrayinit as ai  # noqa: E402
import arrayinit.flax as aif  # noqa: E402

if len(jax.devices()) != 8:
    pytest.skip("needs XLA_FLAGS=--xla_force_host_platform_device_count=8", allow_module_level=True)

SHAPE = (96, 40)  # no other array of the programs has these dims
KEY = jax.random.key(3)
SEED = aif.seed_from_key(jax.random.key_data(KEY))
MESH = jax.make_mesh((4, 2), ("x", "y"), axis_types=(AxisType.Auto, AxisType.Auto))
LINE_MESH = jax.make_mesh((8,), ("x",), axis_types=(AxisType.Auto,))


def _dims(shape) -> str:
    return ",".join(str(d) for d in shape)


def op_shapes(text: str) -> list[str]:
    """The result shapes of the arrayinit custom calls of a compiled program."""
    return re.findall(r"= \w+\[([\d,]*)\][^\n]*custom_call_target=\"xla_buffer_python_cpu_callback\"", text)


def assert_partitioned(compiled, shape, tile):
    """No operation of the full shape; every arrayinit op of the tile's shape; no host pure_callback."""
    text = compiled.as_text()
    assert not re.search(rf"\[{_dims(shape)}\]", text), f"an op of the full shape {shape} in:\n{text}"
    assert op_shapes(text), text
    assert set(op_shapes(text)) == {_dims(tile)}, op_shapes(text)
    assert "xla_ffi_python_cpu_callback" not in text  # (pure_callback's target)


def truncated(shape=SHAPE, dtype="float32"):
    return ai.random.truncated_normal(shape, seed=SEED, stddev=0.02, dtype=dtype)


@pytest.mark.parametrize(
    ("mesh", "spec", "tile"),
    [
        (MESH, P("x", "y"), (24, 20)),
        (MESH, P("x", None), (24, 40)),  # a replicated mesh axis: devices along y make the same tile
        (MESH, P(None, ("x", "y")), (96, 5)),
        (MESH, P(("y", "x")), (12, 40)),
        (LINE_MESH, P(None, "x"), (96, 5)),
    ],
)
def test_out_shardings_and_constraints(mesh, spec, tile):
    init = aif.truncated_normal(0.02)
    whole = truncated()
    sharding = NamedSharding(mesh, spec)
    for f in (
        jax.jit(lambda k: init(k, SHAPE), out_shardings=sharding),
        jax.jit(lambda k: jax.lax.with_sharding_constraint(init(k, SHAPE), sharding)),
        jax.jit(lambda k: init(k, SHAPE, out_sharding=sharding)),
    ):
        assert_partitioned(f.lower(KEY).compile(), SHAPE, tile)
        out = f(KEY)
        assert out.sharding.is_equivalent_to(sharding, 2)
        np.testing.assert_array_equal(np.asarray(out), whole)
        for shard in out.addressable_shards:  # each device holds its own block
            np.testing.assert_array_equal(np.asarray(shard.data), whole[shard.index])


def test_partition_spec_under_set_mesh_eager_and_jit():
    init = aif.he_normal()
    whole = np.asarray(init(KEY, SHAPE))
    np.testing.assert_array_equal(whole, ai.HeNormal(seed=SEED)(SHAPE))
    with jax.set_mesh(MESH):
        eager = init(KEY, SHAPE, out_sharding=P("x", "y"))
        assert eager.sharding.spec == P("x", "y")
        np.testing.assert_array_equal(np.asarray(eager), whole)
        f = jax.jit(lambda k: init(k, SHAPE, out_sharding=P("x", "y")))
        assert_partitioned(f.lower(KEY).compile(), SHAPE, (24, 20))
        np.testing.assert_array_equal(np.asarray(f(KEY)), whole)
        plain = init(KEY, SHAPE)  # eager, under a mesh: replicated over it, as jax's own eager results
        assert plain.sharding.is_equivalent_to(NamedSharding(MESH, P()), 2)


@pytest.mark.parametrize(
    ("shape", "spec", "tile"),
    [
        ((10, 6), P("x", None), (3, 6)),  # tiles 3, 3, 3, 1 (+ 2 rows of padding): a prefix of the tile
        ((6, 10), P(None, "x"), (6, 3)),  # the last tile's valid column is not a prefix of its memory
        ((5, 4), P(("x", "y")), (1, 4)),  # 8 tiles of one row: three devices hold padding only
    ],
)
def test_uneven_shards(shape, spec, tile):
    init = aif.truncated_normal(0.02)
    whole = truncated(shape)
    sharding = NamedSharding(MESH, spec)
    f = jax.jit(lambda k: jax.lax.with_sharding_constraint(init(k, shape), sharding) * 2.0)
    text = f.lower(KEY).compile().as_text()
    assert set(op_shapes(text)) == {_dims(tile)}, op_shapes(text)
    np.testing.assert_array_equal(np.asarray(f(KEY)), whole * np.float32(2.0))


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "complex64"])
def test_dtypes_through_the_op(dtype):
    init = aif.normal(0.5)
    sharding = NamedSharding(MESH, P("x", "y"))
    f = jax.jit(lambda k: init(k, SHAPE, dtype), out_shardings=sharding)
    text = f.lower(KEY).compile().as_text()
    assert set(op_shapes(text)) == {"24,20"}, op_shapes(text)
    expect = ai.random.normal(SHAPE, seed=SEED, stddev=0.5, dtype=dtype)
    np.testing.assert_array_equal(np.asarray(f(KEY)).view(expect.dtype), expect)


def test_host_value_plans_through_the_op():
    """orthogonal (a QR of the whole) and jax's complex disk form: host values, one block per shard."""
    sharding = NamedSharding(MESH, P("x", "y"))
    for init, dtype in ((aif.orthogonal(), jnp.float32), (aif.glorot_uniform(), jnp.complex64)):
        f = jax.jit(lambda k, init=init, dtype=dtype: init(k, SHAPE, dtype), out_shardings=sharding)
        assert set(op_shapes(f.lower(KEY).compile().as_text())) == {"24,20"}
        np.testing.assert_array_equal(np.asarray(f(KEY)), np.asarray(init(KEY, SHAPE, dtype)))


def test_vmap_over_keys_sharded_along_the_batch():
    init = aif.uniform(1.0)
    keys = jax.random.split(KEY, 4)
    sharding = NamedSharding(MESH, P("x", None, "y"))
    f = jax.jit(jax.vmap(lambda k: init(k, SHAPE)), out_shardings=sharding)
    assert set(op_shapes(f.lower(keys).compile().as_text())) == {"1,96,20"}
    out = np.asarray(f(keys))
    for i in range(4):
        np.testing.assert_array_equal(out[i], np.asarray(init(keys[i], SHAPE)))


def test_flax_nnx_sharded_creation():
    nnx = pytest.importorskip("flax.nnx")

    class MLP(nnx.Module):
        def __init__(self, rngs):
            part = nnx.with_partitioning
            self.up = nnx.Linear(96, 40, kernel_init=part(aif.he_normal(), ("x", "y")), use_bias=False, rngs=rngs)
            self.down = nnx.Linear(
                40, 96, kernel_init=part(aif.truncated_normal(0.02), (None, "x")), use_bias=False, rngs=rngs
            )

    def create_state():
        state = nnx.state(MLP(nnx.Rngs(0)))
        return jax.lax.with_sharding_constraint(state, nnx.get_partition_spec(state))

    @nnx.jit
    def create():
        model = MLP(nnx.Rngs(0))
        state = nnx.state(model)
        nnx.update(model, jax.lax.with_sharding_constraint(state, nnx.get_partition_spec(state)))
        return model

    with jax.set_mesh(MESH):
        text = jax.jit(create_state).lower().compile().as_text()
        assert not re.search(r"\[96,40\]|\[40,96\]", text)
        assert sorted(op_shapes(text)) == ["24,20", "40,24"]
        model = create()
        eager = MLP(nnx.Rngs(0))
    for name in ("up", "down"):
        sharded, plain = getattr(model, name).kernel[...], getattr(eager, name).kernel[...]
        assert len(sharded.sharding.device_set) == 8
        np.testing.assert_array_equal(np.asarray(sharded), np.asarray(plain))


def test_flax_linen_with_partitioning_and_jit():
    nn = pytest.importorskip("flax.linen")

    class Dense(nn.Module):
        @nn.compact
        def __call__(self, x):
            init = nn.with_partitioning(aif.he_normal(), ("x", "y"))
            return nn.Dense(40, kernel_init=init, use_bias=False)(x)

    model, x = Dense(), jnp.ones((1, 96))
    specs = nn.get_partition_spec(jax.eval_shape(model.init, KEY, x))
    f = jax.jit(model.init, out_shardings=jax.tree.map(lambda s: NamedSharding(MESH, s), specs))
    text = f.lower(KEY, x).compile().as_text()
    assert not re.search(r"\[96,40\]", text)
    assert op_shapes(text) == ["24,20"]
    sharded = f(KEY, x)["params"]["Dense_0"]["kernel"].value
    assert sharded.sharding.spec == P("x", "y")
    plain = model.init(KEY, x)["params"]["Dense_0"]["kernel"].value
    np.testing.assert_array_equal(np.asarray(sharded), np.asarray(plain))


def test_eager_out_sharding_one_block_per_shard():
    init = aif.normal(1.0, jnp.bfloat16)
    sharding = NamedSharding(MESH, P("x", "y"))
    out = init(KEY, SHAPE, out_sharding=sharding)
    assert out.sharding == sharding
    np.testing.assert_array_equal(np.asarray(out), ai.random.normal(SHAPE, seed=SEED, dtype="bfloat16"))


def test_meshes_of_explicit_axes_with_and_without_set_mesh():
    """jax.make_mesh's default axes are explicit: outside jax.set_mesh the op is still partitioned."""
    mesh = jax.make_mesh((4, 2), ("x", "y"))
    assert AxisType.Explicit in mesh.axis_types
    init = aif.truncated_normal(0.02)
    sharding = NamedSharding(mesh, P("x", "y"))
    f = jax.jit(lambda k: init(k, SHAPE, out_sharding=sharding))
    assert_partitioned(f.lower(KEY).compile(), SHAPE, (24, 20))
    np.testing.assert_array_equal(np.asarray(f(KEY)), truncated())
    with jax.set_mesh(mesh):
        g = jax.jit(lambda k: init(k, SHAPE, out_sharding=P("x", None)))
        assert_partitioned(g.lower(KEY).compile(), SHAPE, (24, 40))
        out = g(KEY)
        assert out.sharding.spec == P("x", None)
        np.testing.assert_array_equal(np.asarray(out), truncated())


def test_gspmd_partitioner_too():
    """With Shardy off (jax's older partitioner), the op's propagation callbacks partition it the same way."""
    init = aif.truncated_normal(0.02)
    sharding = NamedSharding(MESH, P("x", "y"))
    jax.config.update("jax_use_shardy_partitioner", False)
    try:
        for f in (
            jax.jit(lambda k: init(k, SHAPE), out_shardings=sharding),
            jax.jit(lambda k: jax.lax.with_sharding_constraint(init(k, SHAPE), sharding)),
        ):
            assert_partitioned(f.lower(KEY).compile(), SHAPE, (24, 20))
            np.testing.assert_array_equal(np.asarray(f(KEY)), truncated())
    finally:
        jax.config.update("jax_use_shardy_partitioner", True)
