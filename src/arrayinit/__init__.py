"""arrayinit: Keras-style weight initializers for every array library, one random stream.

``import arrayinit`` imports numpy only; numba is imported when the first
tensor is generated.
"""

from arrayinit import random
from arrayinit._errors import DeviceUnavailableError

__version__ = "0.1.0"

__all__ = ["DeviceUnavailableError", "__version__", "random"]
