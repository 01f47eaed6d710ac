"""`python -m nnviz ...`: see nnviz.cli."""

import sys

from nnviz.cli import main

sys.exit(main())
