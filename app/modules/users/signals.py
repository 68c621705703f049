"""What other modules hear about accounts; handlers join the caller's transaction."""

from blinker import Namespace

_signals = Namespace()

#: sent with `user` after the row is added, before the commit
user_created = _signals.signal("user-created")
#: sent with `user` before the row is anonymised, before the commit
user_deleted = _signals.signal("user-deleted")
#: sent with `user` and `keep_token_id` (the access token that made the change) once the new
#: password is set, before the commit
password_changed = _signals.signal("password-changed")
#: sent with `user` once a new display name is set, before the commit
user_renamed = _signals.signal("user-renamed")
#: sent with a list of users about to be shown with their presence, which the module tracking
#: streams (events) attaches to each (`User.presence`)
profiles_shown = _signals.signal("profiles-shown")
