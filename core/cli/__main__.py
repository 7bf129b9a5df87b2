"""`python -m core.cli`, the same as the `smsdesk` console script."""

import sys

from core.cli import main

sys.exit(main())
