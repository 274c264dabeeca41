"""``tf.compat.v1.initializers``: TensorFlow's own TF1 initializers, with their defaults and configs.

``random_normal`` and ``truncated_normal`` default to ``stddev=1.0``,
``random_uniform`` to ``[0, 1)``; ``he_normal``, ``he_uniform``,
``lecun_normal`` and ``lecun_uniform`` are functions returning a
``VarianceScaling`` (whose config has five keys), as in TensorFlow. The Keras
namespace of the same names is ``arrayinit.compat.v1.keras.initializers``.
"""

from arrayinit.compat._tf1 import Constant as constant
from arrayinit.compat._tf1 import GlorotNormal as glorot_normal
from arrayinit.compat._tf1 import GlorotUniform as glorot_uniform
from arrayinit.compat._tf1 import Identity as identity
from arrayinit.compat._tf1 import Ones as ones
from arrayinit.compat._tf1 import Orthogonal as orthogonal
from arrayinit.compat._tf1 import RandomNormal as random_normal
from arrayinit.compat._tf1 import RandomUniform as random_uniform
from arrayinit.compat._tf1 import TruncatedNormal as truncated_normal
from arrayinit.compat._tf1 import UniformUnitScaling as uniform_unit_scaling
from arrayinit.compat._tf1 import VarianceScaling as variance_scaling
from arrayinit.compat._tf1 import Zeros as zeros
from arrayinit.compat._tf1 import he_normal, he_uniform, lecun_normal, lecun_uniform

__all__ = [
    "constant",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "ones",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "uniform_unit_scaling",
    "variance_scaling",
    "zeros",
]
