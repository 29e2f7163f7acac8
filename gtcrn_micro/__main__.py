"""``python -m gtcrn_micro`` runs the command-line interface."""

from .cli import main

raise SystemExit(main())
