"""massagectl: the controller for motorised massage chairs and pads.

The project's folders (routines/, safety/, firmware_bridge/, sim/, controller/) install below this
one import name, so that none of them can collide with another distribution's top-level package
(`safety` is also a popular package's name).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("massagectl")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
