"""What other modules hear about accounts; handlers join the caller's transaction."""

from blinker import Namespace

_signals = Namespace()

#: sent with `user` after the row is added, before the commit
user_created = _signals.signal("user-created")
#: sent with `user` before the row is anonymised, before the commit
user_deleted = _signals.signal("user-deleted")
