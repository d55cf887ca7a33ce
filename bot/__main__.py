"""``python -m bot`` is the ``brandpulse`` command."""

from bot.cli.main import main

main()
