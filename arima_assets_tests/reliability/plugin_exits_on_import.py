"""A plug-in module that calls sys.exit when imported (loaded by path in the silent-failure tests)."""

import sys

sys.exit("this plug-in module exits on import")
