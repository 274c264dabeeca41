"""Plans as operations of compiled XLA programs (jax): the op, its per-shard partitioning, its callback bodies.

- ``callback``: what runs inside XLA when the op executes: one block of a
  plan (from the shard's offset and the key's seed) written into XLA's own
  output buffer, by the CPU engine on CPU devices or the CUDA target on XLA's
  stream on GPU devices. No jax import: the bodies are tested without jax
  (the GPU body in numba's CUDA simulator).
- ``op``: the jax primitive: its lowering to ``buffer_callback``'s custom
  call, partitioned by ``custom_partitioning`` (each device writes only its
  own shard), its vmap rule, and the ``pure_callback`` fallback.
- ``deliver``: a plan for a jax key: eagerly (host generation handed over
  without a copy, or one block per shard), under ``jax.jit`` (the op).
"""
