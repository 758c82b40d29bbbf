"""The test suite (a package, so that helpers import as ``tests.*``).

Bytecode caches are written even where ``PYTHONDONTWRITEBYTECODE`` is set (many container images set
it): otherwise every worker would compile the project and rewrite the test modules again, and so
would each of the hundreds of programs the tests start. The caches go to the checkout's
``__pycache__`` folders, which git ignores; the programs started only read them.
"""

import sys

sys.dont_write_bytecode = False
