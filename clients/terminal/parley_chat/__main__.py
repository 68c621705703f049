"""`python -m parley_chat` runs the same program as the `parley-chat` console script."""

from parley_chat.app import main

main()
