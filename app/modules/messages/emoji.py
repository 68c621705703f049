"""What a reaction may be: one emoji, or a `:short_name:` from a fixed list (docs/api.md lists it)."""

from __future__ import annotations

import regex

# Names a client may send in place of the emoji itself; stored and shown as sent.
SHORT_NAMES = frozenset(
    {
        "+1", "-1", "100", "angry", "clap", "confused", "cry", "eyes", "fire", "heart",
        "heart_eyes", "joy", "laughing", "ok_hand", "party", "pray", "rocket", "sad",
        "scream", "see_no_evil", "skull", "slightly_smiling_face", "smile", "sob", "star",
        "tada", "thinking", "thumbsdown", "thumbsup", "upside_down", "wave", "wink",
        "white_check_mark", "x", "zany_face",
    }
)  # fmt: skip

# A pictograph with its optional presentation selector and skin tone.
_PICTOGRAPH = r"\p{Extended_Pictographic}\uFE0F?\p{Emoji_Modifier}?"
_EMOJI = regex.compile(
    rf"""
    [\U0001F1E6-\U0001F1FF]{{2}}                            # a country flag: two regional indicators
    | [0-9#*]\uFE0F?\u20E3                                 # a keycap
    | \U0001F3F4[\U000E0020-\U000E007E]+\U000E007F         # a subdivision flag (tag sequence)
    | {_PICTOGRAPH}(?:\u200D{_PICTOGRAPH})*                # one emoji, or a ZWJ sequence of them
    """,
    regex.VERBOSE,
)
# The longest emoji in use (a kiss with two skin tones) has 10 code points.
MAX_CODE_POINTS = 16


def is_reaction(text: str) -> bool:
    """One user-perceived character that is an emoji, or a listed `:short_name:`."""
    if len(text) > 2 and text[0] == text[-1] == ":":
        return text[1:-1] in SHORT_NAMES
    return (
        len(text) <= MAX_CODE_POINTS
        and _EMOJI.fullmatch(text) is not None
        and regex.fullmatch(r"\X", text) is not None
    )
