from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.event import Event


T = TypeVar("T", bound="Poll")


@_attrs_define
class Poll:
    """
    Attributes:
        events (list[Event]):
        last_event_id (int): Pass as `since` next time.
    """

    events: list[Event]
    last_event_id: int

    def to_dict(self) -> dict[str, Any]:
        events = []
        for events_item_data in self.events:
            events_item = events_item_data.to_dict()
            events.append(events_item)

        last_event_id = self.last_event_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "events": events,
                "last_event_id": last_event_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event import Event  # noqa: PLC0415

        d = dict(src_dict)
        events = []
        _events = d.pop("events")
        for events_item_data in _events:
            events_item = Event.from_dict(events_item_data)

            events.append(events_item)

        last_event_id = d.pop("last_event_id")

        poll = cls(
            events=events,
            last_event_id=last_event_id,
        )

        return poll
