"""`python -m storekeeper.serving`: what `storekeeper serve` execs."""

import sys

from storekeeper.serving.application import main

sys.exit(main())
