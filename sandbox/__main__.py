"""`python -m sandbox`: run the ClickSend sandbox (same options as `smsdesk sandbox`)."""

import sys

from sandbox.cli import main

sys.exit(main())
