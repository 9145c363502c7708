"""python3 -m salesplan: the salesplan command (docs/cli.md)."""
import sys

from .cli import main

sys.exit(main())
