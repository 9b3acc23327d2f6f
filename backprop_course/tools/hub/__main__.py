"""``python -m backprop_course.tools.hub``: `make hub` (cli.py)."""
import sys

from .cli import main

sys.exit(main())
