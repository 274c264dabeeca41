"""``python -m arrayinit.cli``: the ``arrayinit`` command."""

import sys

from arrayinit.cli import main

if __name__ == "__main__":  # not when imported (pytest's doctest collection imports every module)
    sys.exit(main())
