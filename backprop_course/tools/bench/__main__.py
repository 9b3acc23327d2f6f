"""``python -m backprop_course.tools.bench``: `make bench` (cli.py)."""
import sys

from .cli import main

sys.exit(main())
