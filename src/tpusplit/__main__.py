"""``python -m tpusplit``."""

from tpusplit.cli import main

main()
