"""``python -m sqrtwatch``: the same as the ``sqrtwatch`` console script."""

from sqrtwatch.cli import main

main()
