"""`python -m viewer` is the `loupe` command."""

import sys

from viewer.cli.main import main

sys.exit(main())
