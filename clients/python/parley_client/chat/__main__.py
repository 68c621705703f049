"""`python -m parley_client.chat` runs the same program as the `parley-chat` console script."""

from parley_client.chat.app import main

if __name__ == "__main__":
    main()
