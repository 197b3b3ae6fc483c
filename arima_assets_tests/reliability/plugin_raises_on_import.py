"""A plug-in module that raises when imported (loaded by path in the silent-failure tests)."""

raise RuntimeError("this plug-in module raises on import")
