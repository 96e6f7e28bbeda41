"""`python -m benchmarks`: the benchmark, or one of the processes it starts."""

import sys

from benchmarks.cli import main

sys.exit(main())
