from enum import StrEnum


class ListRoomsScope(StrEnum):
    MINE = "mine"
    PUBLIC = "public"

    def __str__(self) -> str:
        return str(self.value)
