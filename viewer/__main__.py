"""`python -m viewer` is the `loupe` command."""

import sys

from .cli import main

sys.exit(main())
