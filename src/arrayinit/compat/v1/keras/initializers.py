"""``tf.compat.v1.keras.initializers`` as of TensorFlow 2.4: the TF1 Keras namespace, with its defaults and configs.

``RandomNormal`` and ``TruncatedNormal`` default to ``stddev=0.05``,
``RandomUniform`` to ``[-0.05, 0.05)``; ``he_normal``, ``he_uniform``,
``lecun_normal`` and ``lecun_uniform`` are classes whose config is ``{'seed':
...}``; ``glorot_uniform`` and ``glorot_normal`` have ``{'seed', 'dtype'}``.
``Zeros``, ``Ones``, ``Constant``, ``VarianceScaling``, ``Orthogonal``,
``Identity`` and the Glorot classes are the same classes as in
``arrayinit.compat.v1.initializers`` (as in TensorFlow).

``serialize`` writes what TensorFlow writes; ``deserialize`` and ``get``
resolve names in this namespace (TensorFlow 2.21's own ``deserialize``
returns its TF2 Keras classes instead).
"""

from arrayinit.compat._tf1 import (
    Constant,
    Identity,
    Initializer,
    Ones,
    Orthogonal,
    VarianceScaling,
    Zeros,
    deserialize,
    get,
    serialize,
)
from arrayinit.compat._tf1 import GlorotNormal as glorot_normal
from arrayinit.compat._tf1 import GlorotUniform as glorot_uniform
from arrayinit.compat._tf1 import HeNormal as he_normal
from arrayinit.compat._tf1 import HeUniform as he_uniform
from arrayinit.compat._tf1 import KerasRandomNormal as RandomNormal
from arrayinit.compat._tf1 import KerasRandomUniform as RandomUniform
from arrayinit.compat._tf1 import KerasTruncatedNormal as TruncatedNormal
from arrayinit.compat._tf1 import LecunNormal as lecun_normal
from arrayinit.compat._tf1 import LecunUniform as lecun_uniform

zeros = Zeros
ones = Ones
constant = Constant
orthogonal = Orthogonal
identity = Identity
random_normal = normal = RandomNormal
random_uniform = uniform = RandomUniform
truncated_normal = TruncatedNormal

__all__ = [
    "Constant",
    "Identity",
    "Initializer",
    "Ones",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "constant",
    "deserialize",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "serialize",
    "truncated_normal",
    "uniform",
    "zeros",
]
