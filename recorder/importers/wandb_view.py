"""A fast reading view of wandb's `Record`, built from wandb's own message definitions.

Reading a history item through protobuf's Python objects costs a few microseconds per
field (a wrapper object per item, per string), and a 100k-step run holds 2.6 million
items in its history and summary records. The view parses the same bytes with message
types derived from `wandb_internal_pb2` (same field numbers, same names) in which:

- `Record`'s history and summary are `HistoryView` / `SummaryView`; every other record
  stays raw bytes, parsed with wandb's real type when it is handled;
- a history's or summary's items are read as ONE message whose fields are all repeated:
  protobuf merges the occurrences of a singular message field, so all the items' keys
  land in one list and all their values in another, read in one C call each.

`Views.flat_items(items)` returns `(keys, value_jsons)` when every item has exactly one
nested key and a JSON value, the common case; otherwise None, and the caller reads the
record with wandb's real types.

The same merging reads many records at once: parsed as one `RecordView`, the joined
payloads of many history records give every row's items in two lists, and parsed as
`HistoryRows` (a history per record, its items left as bytes) how many items each row has.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_PACKAGE = "loupe_wandb_view"
_TYPE_MESSAGE = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
_TYPE_BYTES = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
_TYPE_ENUM = descriptor_pb2.FieldDescriptorProto.TYPE_ENUM
_TYPE_INT32 = descriptor_pb2.FieldDescriptorProto.TYPE_INT32
_OPTIONAL = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
_REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED


def _copy(message_type: Any, name: str) -> descriptor_pb2.DescriptorProto:
    proto = descriptor_pb2.DescriptorProto()
    message_type.DESCRIPTOR.CopyToProto(proto)
    proto.name = name
    del proto.nested_type[:]
    del proto.enum_type[:]
    return proto


def _all_repeated(message_type: Any, name: str) -> descriptor_pb2.DescriptorProto:
    """Every field repeated, none in a oneof: the merge of many items keeps all their values."""
    proto = _copy(message_type, name)
    del proto.oneof_decl[:]
    for f in proto.field:
        f.ClearField("oneof_index")
        f.ClearField("proto3_optional")
        f.label = _REPEATED
        _plain(f)
    return proto


def _plain(f: descriptor_pb2.FieldDescriptorProto) -> None:
    # Sub-messages stay raw bytes (parsed with wandb's real type when needed); enums are
    # their numbers, so the view depends on no other file's types.
    if f.type == _TYPE_MESSAGE:
        f.type = _TYPE_BYTES
        f.ClearField("type_name")
    elif f.type == _TYPE_ENUM:
        f.type = _TYPE_INT32
        f.ClearField("type_name")


def _with(
    message_type: Any, name: str, views: dict[str, str], merged: tuple[str, ...] = ()
) -> descriptor_pb2.DescriptorProto:
    """`message_type` with the fields in `views` typed as those view messages (made singular
    when in `merged`) and every other message field as bytes."""
    proto = _copy(message_type, name)
    for f in proto.field:
        if f.name in views:
            f.type_name = f".{_PACKAGE}.{views[f.name]}"
            if f.name in merged:
                f.label = _OPTIONAL
        else:
            _plain(f)
    return proto


def _rows_of(record_type: Any, field: str, name: str, element: str) -> descriptor_pb2.DescriptorProto:
    """Only Record's `field`, repeated, as `element`: joined records keep one each."""
    proto = descriptor_pb2.DescriptorProto(name=name)
    proto.field.add(
        name=field,
        number=record_type.DESCRIPTOR.fields_by_name[field].number,
        label=_REPEATED,
        type=_TYPE_MESSAGE,
        type_name=f".{_PACKAGE}.{element}",
    )
    return proto


@dataclass(frozen=True)
class Views:
    record: Any  # RecordView class
    summary: Any  # SummaryView class (a record's `summary` stays bytes in RecordView)
    fields: tuple[int, int]  # numbers of nested_key and value_json in HistoryItems
    record_fields: dict[str, int]  # Record's field numbers by name (history, summary...)
    history_rows: Any  # HistoryRows class: joined history records, one HistoryCount each
    summaries: Any  # SummariesView class: joined summary records, their items merged
    summary_fields: tuple[int, int]  # numbers of nested_key and value_json in SummaryItems

    def flat_items(
        self, items: Any, fields: tuple[int, int] | None = None, lists: bool = True
    ) -> tuple[Any, Any] | None:
        """(keys, value_jsons) of merged items when every item has one nested key and a JSON value.

        Each item names at least one key; when the merged items hold nothing but nested
        keys and JSON values, as many of one as of the other, each item has one of each,
        in order. One ListFields() call answers it (a field's presence costs a wrapper)."""
        set_fields = items.ListFields()
        if len(set_fields) != 2:
            return None
        (f1, keys), (f2, values) = set_fields
        key_field, value_field = fields or self.fields
        if f1.number != key_field or f2.number != value_field or len(keys) != len(values):
            return None
        # Lists: each read of a protobuf container makes its strings anew; a caller that
        # reads them once takes the containers (lists=False).
        return (list(keys), list(values)) if lists else (keys, values)

    def item_counts(self, joined: bytes) -> list[int]:
        """How many items each of the joined history records holds, in order."""
        return [len(h.item) for h in self.history_rows.FromString(joined).history]

    def flat_summaries(self, joined: bytes) -> tuple[Any, Any] | None:
        """flat_items() of joined summary records' updates, as containers; None also when
        any removes a key."""
        view = self.summaries.FromString(joined).summary
        if len(view.ListFields()) != 1 or not view.HasField("update"):
            return None
        return self.flat_items(view.update, self.summary_fields, lists=False)


@cache
def view_types(pb: Any) -> Views:
    """The view message classes for wandb's `wandb_internal_pb2` module `pb`."""
    file = descriptor_pb2.FileDescriptorProto(name=f"{_PACKAGE}.proto", package=_PACKAGE, syntax="proto3")
    file.message_type.extend(
        [
            _all_repeated(pb.HistoryItem, "HistoryItems"),
            _all_repeated(pb.SummaryItem, "SummaryItems"),
            _with(pb.HistoryRecord, "HistoryView", {"item": "HistoryItems"}, merged=("item",)),
            _with(pb.SummaryRecord, "SummaryView", {"update": "SummaryItems"}, merged=("update",)),
            _with(pb.Record, "RecordView", {"history": "HistoryView"}),
            _with(pb.HistoryRecord, "HistoryCount", {}),
            _rows_of(pb.Record, "history", "HistoryRows", "HistoryCount"),
            _with(pb.Record, "SummariesView", {"summary": "SummaryView"}),
        ]
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)

    def find(name: str) -> Any:
        return pool.FindMessageTypeByName(f"{_PACKAGE}.{name}")

    history_items = find("HistoryItems").fields_by_name
    summary_items = find("SummaryItems").fields_by_name
    return Views(
        record=message_factory.GetMessageClass(find("RecordView")),
        summary=message_factory.GetMessageClass(find("SummaryView")),
        fields=(history_items["nested_key"].number, history_items["value_json"].number),
        record_fields={f.name: f.number for f in pb.Record.DESCRIPTOR.fields},
        history_rows=message_factory.GetMessageClass(find("HistoryRows")),
        summaries=message_factory.GetMessageClass(find("SummariesView")),
        summary_fields=(summary_items["nested_key"].number, summary_items["value_json"].number),
    )


def type_offset(payload: bytes) -> int:
    """Where the field after `num` starts in a Record's bytes (0 when num, a varint, is left
    out because it is 0). wandb writes `num` first and then the record's one type, so the
    byte there is the type's tag. IndexError when the bytes end first."""
    if payload[0] != 0x08:
        return 0
    # A num below 2**21 (two million records) takes at most three bytes.
    if payload[1] < 0x80:
        return 2
    if payload[2] < 0x80:
        return 3
    i = 3
    while payload[i] >= 0x80:
        i += 1
    return i + 1


def record_kind(payload: bytes) -> tuple[int, int]:
    """(field number, offset of its tag) of the first field after `num` in a Record's bytes;
    field 0 when it is not a length-delimited field below 16."""
    try:
        offset = type_offset(payload)
        tag = payload[offset]
    except IndexError:
        return 0, 0
    return (tag >> 3 if (tag & 0x87) == 2 else 0), offset
