"""jax on GPU: arrayinit.flax under jax.jit as an XLA op (the CUDA kernel on XLA's stream), for a lent GPU.

``run(large)`` returns a dict of named results, each ``{"status": "run" | "skipped" | "failed", ...}``
(``reason`` for a skipped one, ``error`` for a failed one):

- ``op_lowering``: the jitted initializer compiles to buffer_callback's GPU custom call (not pure_callback);
- ``jit_equal_cpu``: jitted values on the GPU, bit for bit equal to ``arrayinit.random`` on the CPU for the key's
  seed (normal, truncated normal, uniform, He normal; float32, bfloat16, float16, complex64; blocks of one run
  and of many runs, the host-value plans orthogonal and the complex disk form);
- ``vmap_equal_cpu``: ``jax.vmap`` over keys, each key's array equal to the CPU's;
- ``sharded_equal_cpu``: jit with ``out_shardings`` over all the GPUs present (skipped with one): no operation
  of the full shape in the compiled program, each device's shard equal to the CPU's block;
- ``throughput``: ``(8192, 4096)`` (large: ``(32768, 16384)``) float32 truncated normal under jit, arrayinit
  against ``jax.random.truncated_normal`` on the same GPU, best of N, with the ratio.

``platform="cpu"`` runs the same checks on CPU devices (the tests do, where no GPU is lent).
Run alone: ``python benchmarks/gpu_check_jax.py [--large] [--platform cpu]`` prints the dict as JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import traceback

from arrayinit._bench_jax import best_of


def _skip(reason: str) -> dict:
    return {"status": "skipped", "reason": reason}


def _guard(fn) -> dict:
    try:
        out = fn()
    except Exception as e:  # a check that raises is a failed check, named with its error
        return {"status": "failed", "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-3000:]}
    return out if "status" in out else {"status": "run", **out}


def run(large: bool = False, platform: str = "gpu") -> dict:
    """The jax-on-GPU checks (see the module docstring); ``large`` selects the throughput size."""
    try:
        import jax
        import jax.numpy as jnp
        import numpy as np
    except ImportError as e:
        return {"jax": _skip(f"jax is not installed ({e})")}
    try:
        devices = jax.devices(platform)
    except RuntimeError as e:
        return {"jax": _skip(f"jax has no {platform} device ({e})")}
    import arrayinit as ai
    import arrayinit.flax as aif

    dev = devices[0]
    key = jax.device_put(jax.random.key(5), dev)
    seed = aif.seed_from_key(np.asarray(jax.random.key_data(jax.random.key(5))))
    target = "xla_buffer_python_gpu_callback" if platform == "gpu" else "xla_buffer_python_cpu_callback"
    res: dict[str, dict] = {}

    def on_device(f):  # the keys are committed to ``dev``: the program runs there
        return jax.jit(f)

    def lowering():
        text = on_device(lambda k: aif.he_normal()(k, (256, 128))).lower(key).compile().as_text()
        targets = sorted(set(re.findall(r'custom_call_target="([^"]+)"', text)))
        if targets != [target]:
            raise AssertionError(f"custom calls {targets}, expected [{target!r}] (the op, not pure_callback)")
        return {"targets": targets}

    res["op_lowering"] = _guard(lowering)

    def bits(x) -> np.ndarray:
        x = np.asarray(x)
        return x.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[x.dtype.itemsize]) if x.dtype.kind != "c" else x

    cases = {
        "normal": (lambda: aif.normal(0.5), lambda s, d: ai.random.normal(s, seed=seed, stddev=0.5, dtype=d)),
        "truncated_normal": (
            lambda: aif.truncated_normal(0.02),
            lambda s, d: ai.random.truncated_normal(s, seed=seed, stddev=0.02, dtype=d),
        ),
        "uniform": (lambda: aif.uniform(2.0), lambda s, d: ai.random.uniform(s, seed=seed, maxval=2.0, dtype=d)),
        "he_normal": (lambda: aif.he_normal(), lambda s, d: ai.HeNormal(seed=seed)(s, d)),
    }

    def equal_cpu():
        mismatched, checked = [], 0
        for name, (make, cpu) in cases.items():
            for dtype in ("float32", "bfloat16", "float16", "complex64"):
                if dtype == "complex64" and name in ("truncated_normal", "he_normal"):
                    continue  # truncated_normal has no complex form; he_normal's is a host form (below)
                for shape in ((1000, 300), (7, 5, 33)):
                    init = make()
                    got = on_device(lambda k, init=init, shape=shape, dtype=dtype: init(k, shape, dtype))(key)
                    checked += 1
                    if not np.array_equal(bits(got), bits(cpu(shape, dtype))):
                        mismatched.append(f"{name} {dtype} {shape}")
        for name, init, dtype, expect in (
            ("orthogonal", aif.orthogonal(), "float32", ai.Orthogonal(seed=seed)((64, 48))),
            ("glorot_uniform complex64 (disk)", aif.glorot_uniform(), "complex64", None),
        ):
            got = on_device(lambda k, init=init, dtype=dtype: init(k, (64, 48), dtype))(key)
            want = expect if expect is not None else np.asarray(init(jax.random.key(5), (64, 48), dtype))
            checked += 1
            if not np.array_equal(bits(got), bits(want)):
                mismatched.append(name)
        if mismatched:
            raise AssertionError(f"{len(mismatched)} of {checked} cases differ from the CPU: {mismatched}")
        return {"cases": checked}

    res["jit_equal_cpu"] = _guard(equal_cpu)

    def vmap_equal():
        keys = jax.device_put(jax.random.split(jax.random.key(5), 6), dev)
        init = aif.truncated_normal(0.02, jnp.bfloat16)
        got = np.asarray(on_device(jax.vmap(lambda k: init(k, (300, 70))))(keys))
        for i in range(6):
            s = aif.seed_from_key(np.asarray(jax.random.key_data(keys[i])))
            want = ai.random.truncated_normal((300, 70), seed=s, stddev=0.02, dtype="bfloat16")
            if not np.array_equal(bits(got[i]), bits(want)):
                raise AssertionError(f"key {i} of the vmap differs from the CPU")
        return {"keys": 6}

    res["vmap_equal_cpu"] = _guard(vmap_equal)

    def sharded():
        if len(devices) < 2:
            return _skip(f"one {platform} device: nothing to shard over")
        from jax.sharding import NamedSharding
        from jax.sharding import PartitionSpec as P

        n = len(devices)
        mesh = jax.sharding.Mesh(np.array(devices), ("x",), axis_types=(jax.sharding.AxisType.Auto,))
        shape = (n * 512, 384)
        sharding = NamedSharding(mesh, P("x", None))
        f = jax.jit(lambda k: aif.truncated_normal(0.02)(k, shape), out_shardings=sharding)
        text = f.lower(jax.random.key(5)).compile().as_text()
        if re.search(rf"\[{shape[0]},{shape[1]}\]", text):
            raise AssertionError("an operation of the full shape in the sharded program")
        out = f(jax.random.key(5))
        want = ai.random.truncated_normal(shape, seed=seed, stddev=0.02)
        for s in out.addressable_shards:
            if not np.array_equal(np.asarray(s.data), want[s.index]):
                raise AssertionError(f"the shard of {s.device} differs from the CPU's block")
        return {"devices": n, "shape": list(shape)}

    res["sharded_equal_cpu"] = _guard(sharded)

    def throughput():
        shape = (32768, 16384) if large else (8192, 4096)
        ours_f = on_device(lambda k: aif.truncated_normal(0.02)(k, shape))
        theirs_f = on_device(lambda k: 0.02 * jax.random.truncated_normal(k, -2.0, 2.0, shape, jnp.float32))
        reps = 10 if large else 5
        ours = best_of(lambda: ours_f(key).block_until_ready(), reps)
        theirs = best_of(lambda: theirs_f(key).block_until_ready(), reps)
        n = shape[0] * shape[1]
        return {
            "shape": list(shape),
            "arrayinit_ms": ours * 1e3,
            "jax_random_ms": theirs * 1e3,
            "arrayinit_gvals_per_s": n / ours / 1e9,
            "jax_random_gvals_per_s": n / theirs / 1e9,
            "arrayinit_write_GBps": n * 4 / ours / 1e9,
            "speedup_vs_jax_random": theirs / ours,
        }

    res["throughput"] = _guard(throughput)
    return res


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="the large throughput size")
    parser.add_argument("--platform", default="gpu", help="jax platform of the devices checked (default gpu)")
    args = parser.parse_args(argv)
    res = run(args.large, args.platform)
    print(json.dumps(res, indent=2))
    return 1 if any(r["status"] == "failed" for r in res.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
