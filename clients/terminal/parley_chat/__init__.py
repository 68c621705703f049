"""parley-chat: Parley in a terminal (Textual), over its REST API and event stream."""
