"""``python -m dispo.batch label ...``: the label command without the ``dispo`` plugin entry point."""

import sys

from dispo.batch.cli import main

if __name__ == "__main__":  # worker processes are spawned and import this module again
    sys.exit(main())
