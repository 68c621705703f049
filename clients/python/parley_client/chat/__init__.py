"""parley-chat: Parley in a terminal (Textual), through this SDK and the event stream.

Written by hand, unlike the rest of the package: `invoke client.generate` keeps it (tasks/client.py).
Its dependencies are the `chat` extra: `pip install "./clients/python[chat]"`.
"""
