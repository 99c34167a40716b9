import sys

from harmone.cli import main

sys.exit(main())
