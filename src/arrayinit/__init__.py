"""arrayinit: Keras-style weight initializers for every array library, one random stream.

``import arrayinit`` imports numpy and array-api-compat only. The first
tensor loads the CPU kernels as machine code (llvmlite: from the kernel cache
or the shipped bitcode); numba is imported only to compile a kernel where
neither fits this machine, and numba.cuda only when a CUDA device is used.
"""

from arrayinit import compat, random
from arrayinit._backends import Backend, CudaBuffer, register_backend, registered_backends, unregister_backend
from arrayinit._errors import DeviceUnavailableError
from arrayinit._initializers import (
    Constant,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    Identity,
    Initializer,
    LecunNormal,
    LecunUniform,
    Ones,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    Zeros,
    compute_fans,
)
from arrayinit._registry import deserialize, get, register, registered_names, serialize
from arrayinit._seeds import derive_seed
from arrayinit._stft import STFT

__version__ = "0.1.0"

__all__ = [
    "STFT",
    "Backend",
    "Constant",
    "CudaBuffer",
    "DeviceUnavailableError",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "__version__",
    "compat",
    "compute_fans",
    "derive_seed",
    "deserialize",
    "get",
    "random",
    "register",
    "register_backend",
    "registered_backends",
    "registered_names",
    "serialize",
    "unregister_backend",
]
