"""qnet: quantum networks that spend entanglement on routing decisions.

The analysis core (this package) is pure numpy/scipy; only ``nodes`` and ``protocols``
import SeQUeNCe.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qnet")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+src"
