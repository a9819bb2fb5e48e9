import sys

from voxsmith.cli.main import main

sys.exit(main())
