"""sqlite-utils' ``Database``, imported without pandas and numpy.

sqlite-utils imports pandas and numpy whenever they are installed, only to name their value types
when it creates a table from values — which this program never does (its tables are declared in
``storage.schema``). The two imports are most of a second of every command's start-up, so they are
hidden while sqlite-utils loads; anything that needs pandas later (the market) imports it as usual.
"""

from __future__ import annotations

import sys

_HIDDEN = [name for name in ("pandas", "numpy") if name not in sys.modules]
for _name in _HIDDEN:
    sys.modules[_name] = None  # type: ignore[assignment]  # makes `import pandas` fail fast
try:
    from sqlite_utils import Database
finally:
    for _name in _HIDDEN:
        if sys.modules.get(_name, ...) is None:
            del sys.modules[_name]

__all__ = ["Database"]
