"""Base schemas: JSON bodies refuse unknown fields and loose booleans, query strings ignore extras;
answers are dumped by a loop compiled once per schema."""

from collections.abc import Callable
from typing import Any

from marshmallow import EXCLUDE, RAISE, ValidationError, fields, missing, pre_load
from marshmallow import Schema as _Schema
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.experimental.context import Context
from marshmallow.utils import get_value
from werkzeug.local import LocalProxy

# Values these exact field classes would dump unchanged: a value of this type skips the field's call.
PASSTHROUGH: dict[type[fields.Field], type] = {fields.Integer: int, fields.String: str, fields.Boolean: bool}
NONE = type(None)

#: What an answer is dumped for: `{"viewer": the user it is shown to}`, entered by the blueprint
#: around each view. A schema that shows a field to some viewers only reads the viewer here, never
#: the request, so it dumps the same object the same way for the same viewer anywhere.
DumpContext = Context[dict[str, Any]]


def viewer() -> Any:
    """The user the object being dumped is shown to; None outside an answer or without a token."""
    return DumpContext.get({}).get("viewer")


class Dumped(list[dict[str, Any]]):
    """Objects a function made for their rows has already dumped: a schema answers them as they are.

    For a listing so hot that building each dict by hand beats even the compiled loop (the room
    list's Core rows). The schema still documents the answer; a test comparing the function's
    output with the schema's own dump of the same objects keeps the two the same.
    """


class DumpedObject(dict[str, Any]):
    """One object already dumped, as `Dumped` holds many: a schema answers it as it is.

    For an answer whose dump was made anyway: a message just sent is dumped once, for its event,
    and that is also what its sender is answered (messages.services.send_message).
    """


ALREADY_DUMPED = (Dumped, DumpedObject)


class Schema(_Schema):
    class Meta:
        unknown = RAISE

    @pre_load
    def _refuse_loose_booleans(self, data: Any, **kwargs: Any) -> Any:
        """A boolean is JSON `true` or `false`: marshmallow would also take `"on"`, `0` or `"yes"`,
        and a typo'd client would silently get a setting it never asked for."""
        if not isinstance(data, dict):
            return data
        loose = {
            key: ["Not a boolean: send true or false."]
            for name, field in self.load_fields.items()
            if isinstance(field, fields.Boolean)
            and (key := field.data_key or name) in data
            and not isinstance(data[key], bool)
            and not (data[key] is None and field.allow_none)
        }
        if loose:
            raise ValidationError(loose)
        return data

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        """An integer is a JSON integer: marshmallow would also take `1.5` (as 1) or `"7"`, and a
        `parent_id` of 1.5 would answer a message nobody meant. Query strings are text, and keep
        the loose reading (`QuerySchema`)."""
        for field in (field_obj, getattr(field_obj, "inner", None)):
            if isinstance(field, fields.Integer):
                field.strict = True

    def _serialize(self, obj: Any, *, many: bool = False) -> Any:
        """marshmallow's dumping loop with each field's reading and formatting resolved once.

        marshmallow finds a value through four calls per field (`serialize`, `get_value`,
        `get_attribute`, `utils.get_value`) and formats it through a fifth: a list of 50 rooms
        made about 1,300 such walks, 40 % of the request's CPU. The output is the same: fields with
        their own `serialize` or `get_value`, dotted attributes and schemas with their own
        `get_attribute` keep marshmallow's path.
        """
        if isinstance(obj, ALREADY_DUMPED):
            return obj
        dump_one = self.__dict__.get("_dump_one") or self._compile_dump()
        # `current_user`: through the proxy, each field would try `proxy[name]` first and fail.
        if isinstance(obj, LocalProxy):
            obj = obj._get_current_object()
        if many and obj is not None:
            return [dump_one(item) for item in obj]
        return dump_one(obj)

    def _compile_dump(self) -> Callable[[Any], dict[str, Any]]:
        own_accessor = type(self).get_attribute is not _Schema.get_attribute
        accessor = self.get_attribute if own_accessor else None
        steps = tuple(
            (name if field.data_key is None else field.data_key, *_field_step(name, field, accessor))
            for name, field in self.dump_fields.items()
        )

        def dump_one(obj: Any) -> dict[str, Any]:
            dumped = {}
            read = get_value if hasattr(obj, "__getitem__") else getattr
            for key, attribute, kept, finish in steps:
                if attribute is None:  # the field reads the object its own way
                    value = finish(obj)
                else:
                    value = read(obj, attribute, missing)
                    if type(value) not in kept:
                        value = finish(value, obj)
                if value is not missing:
                    dumped[key] = value
            return dumped

        self._dump_one = dump_one
        return dump_one


class QuerySchema(_Schema):
    """Query strings tolerate extra parameters (cache busters, pagination read elsewhere)."""

    class Meta:
        unknown = EXCLUDE


def _field_step(
    name: str, field: fields.Field, accessor: Callable[..., Any] | None
) -> tuple[str | None, frozenset[type], Callable[..., Any]]:
    """How `dump_one` makes what `field.serialize(name, obj)` returns, with the lookups done here once.

    `(attribute, kept, finish)`: the loop reads the attribute itself, keeps a value whose type
    is in `kept` as it is (what the field would dump unchanged: most fields of most objects, and
    None for the fields that dump None as None, at no call) and hands any other value to
    `finish(value, obj)`. A field that reads the object its own way is `(None, kept, finish)`,
    called `finish(obj)`: a Method field's own method, straight.
    """
    attribute = name if field.attribute is None else field.attribute
    kind = type(field)
    custom = kind.serialize is not fields.Field.serialize or kind.get_value is not fields.Field.get_value
    if custom or accessor is not None or "." in attribute:
        return None, frozenset(), lambda obj: field.serialize(name, obj, accessor=accessor)
    serialize = field._serialize
    if not field._CHECK_ATTRIBUTE:  # Method and Function fields read the object themselves
        return None, frozenset(), _reader(name, field)
    formatted = _formatter(field)
    kept = set() if getattr(field, "as_string", False) or kind not in PASSTHROUGH else {PASSTHROUGH[kind]}
    if formatted is not None or kind in PASSTHROUGH:  # these dump None as None
        kept.add(NONE)

    def finish(value: Any, obj: Any) -> Any:
        if value is missing:
            default = field.dump_default
            value = default() if callable(default) else default
            if value is missing:
                return missing
        if formatted is not None:
            return None if value is None else formatted(value)
        return serialize(value, name, obj)

    return attribute, frozenset(kept), finish


def _reader(name: str, field: fields.Field) -> Callable[[Any], Any]:
    """What a field that reads the object itself dumps of it: a Method field's method is called
    directly (marshmallow's `Method._serialize` only calls it, or answers `missing` without one)."""
    if type(field) is fields.Method:
        method = field._serialize_method
        return (lambda obj: missing) if method is None else method
    serialize = field._serialize
    return lambda obj: serialize(None, name, obj)


def _formatter(field: fields.Field) -> Callable[[Any], Any] | None:
    """What `field._serialize` makes of a value that is not None, for the fields whose formatting
    reads neither the object nor the attribute's name; None for the others.

    A nested object goes straight to its schema's compiled loop, compiled with this one (marshmallow's
    `Nested` passes through `Schema.dump` and its hook checks for each), a list of them item by item, a
    timestamp to its format function (`DateTime` looks the format up for every value).
    """
    kind = type(field)
    if kind is fields.Nested:
        schema = field.schema  # type: ignore[attr-defined]
        many = schema.many or field.many  # type: ignore[attr-defined]
        if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP]:
            return lambda value: schema.dump(value, many=many)
        if not isinstance(schema, Schema):
            return lambda value: schema._serialize(value, many=many)
        dump_one = schema.__dict__.get("_dump_one") or schema._compile_dump()
        return (lambda values: [dump_one(value) for value in values]) if many else dump_one
    if kind is fields.List:
        item = _formatter(field.inner)  # type: ignore[attr-defined]
        if item is None:
            return None
        return lambda values: [None if value is None else item(value) for value in values]
    if isinstance(field, fields._TemporalField):
        return field.SERIALIZATION_FUNCS.get(field.format or field.DEFAULT_FORMAT)
    return None
