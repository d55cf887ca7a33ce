"""``python -m bot`` is the ``brandpulse`` command."""

from bot.cli import main

main()
