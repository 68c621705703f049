from enum import StrEnum


class RoomKind(StrEnum):
    DIRECT = "direct"
    PRIVATE = "private"
    PUBLIC = "public"

    def __str__(self) -> str:
        return str(self.value)
