"""Who may handle a room's invites and join requests: its owner and admins."""

from __future__ import annotations

from app.modules.rooms import permissions as rooms

manages_invites = rooms.is_manager
# An invite adds a member: never to a direct room, which has exactly two.
may_invite = rooms.is_manager & rooms.can_grow
