"""``python -m course.assignments``: see course.assignments."""

import sys

from course.assignments import main

sys.exit(main())
