"""The ``arrayinit`` command's entry point: Ctrl-C while the package itself imports ends the command quietly.

``arrayinit.cli.main`` handles signals from its first line on, but a console
script imports the package before calling it; this module, outside the
package, catches an interrupt during that import too.
"""

import sys


def main() -> int:
    try:
        from arrayinit.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("\narrayinit: interrupted by SIGINT\n")
        return 130
    return run()
