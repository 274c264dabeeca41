"""The ``tf.compat.v1`` initializer surface, mirroring TensorFlow's module paths.

- ``arrayinit.compat.v1.initializers``: ``tf.compat.v1.initializers``
  (``random_normal`` with ``stddev=1.0``, ``he_normal`` returning a
  ``VarianceScaling``, ...);
- ``arrayinit.compat.v1.keras.initializers``: ``tf.compat.v1.keras.initializers``
  as of TF 2.4 (``RandomNormal`` with ``stddev=0.05``, ``he_normal`` a class
  with config ``{'seed': ...}``, ...);
- the names at this level are those of ``tf.compat.v1`` itself: the
  ``*_initializer`` classes, and ``he_normal``, ``glorot_uniform``, ... as
  aliases of ``arrayinit.compat.v1.initializers`` (TensorFlow's
  ``tf.compat.v1.glorot_uniform_initializer`` is
  ``tf.compat.v1.initializers.glorot_uniform``).

TF1 semantics: ``__call__(shape, dtype=None, partition_info=None)`` takes
TensorFlow's own ``TensorShape``, ``DType`` and ``PartitionInfo`` objects
(duck-typed: arrayinit never imports TensorFlow); an unseeded initializer
gives new values on every call; a ``partition_info`` (``full_shape`` and
``var_offset``) returns exactly that block of the full tensor, with fans from
the full shape.
"""

from arrayinit.compat._tf1 import (
    Constant,
    GlorotNormal,
    GlorotUniform,
    Ones,
    Orthogonal,
    PartitionInfo,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    UniformUnitScaling,
    VarianceScaling,
    Zeros,
)
from arrayinit.compat.v1 import initializers, keras
from arrayinit.compat.v1.initializers import (
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
)

# tf.compat.v1.*_initializer
constant_initializer = Constant
glorot_normal_initializer = GlorotNormal
glorot_uniform_initializer = GlorotUniform
ones_initializer = Ones
orthogonal_initializer = Orthogonal
random_normal_initializer = RandomNormal
random_uniform_initializer = RandomUniform
truncated_normal_initializer = TruncatedNormal
uniform_unit_scaling_initializer = UniformUnitScaling
variance_scaling_initializer = VarianceScaling
zeros_initializer = Zeros

__all__ = [
    "PartitionInfo",
    "VarianceScaling",
    "constant_initializer",
    "glorot_normal",
    "glorot_normal_initializer",
    "glorot_uniform",
    "glorot_uniform_initializer",
    "he_normal",
    "he_uniform",
    "initializers",
    "keras",
    "lecun_normal",
    "lecun_uniform",
    "ones_initializer",
    "orthogonal_initializer",
    "random_normal_initializer",
    "random_uniform_initializer",
    "truncated_normal_initializer",
    "uniform_unit_scaling_initializer",
    "variance_scaling_initializer",
    "zeros_initializer",
]
