"""The tags of one TensorBoard run (a loaded event accumulator) as Loupe rows and media."""

from __future__ import annotations

import math
from typing import Any

import orjson

from recorder.importers.imported_run import ImportedRun

_MAX_BUCKETS = 512


def _tensor_value(event: Any) -> Any:
    from tensorboard.util import tensor_util

    return tensor_util.make_ndarray(event.tensor_proto)


def histogram_parts(triples: Any) -> tuple[list[float], list[float]] | None:
    """(edges, counts) of TensorBoard's [k, 3] (left, right, count) histogram tensor.

    Buckets are merged in runs of ceil(k / 512) when there are more than a Loupe
    histogram holds; counts are kept exactly."""
    rows = [(float(a), float(b), float(c)) for a, b, c in triples.tolist()]
    if not rows:
        return None
    group = max(1, math.ceil(len(rows) / _MAX_BUCKETS))
    edges = [rows[0][0]]
    counts = []
    for i in range(0, len(rows), group):
        chunk = rows[i : i + group]
        edges.append(chunk[-1][1])
        counts.append(sum(c for _, _, c in chunk))
    return edges, counts


def _hparam_value(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        v = value.number_value
        return int(v) if v.is_integer() and abs(v) < 2**53 else v
    if kind in ("string_value", "bool_value"):
        return getattr(value, kind)
    if kind is None or kind == "null_value":
        return None
    from google.protobuf import json_format

    return json_format.MessageToDict(value)


class TagReader:
    def __init__(self, run: ImportedRun) -> None:
        self.run = run
        self.rows: dict[int, dict[str, Any]] = {}
        self.times: dict[int, float] = {}
        self.hparam_metrics: dict[str, Any] = {}

    def _cell(self, step: int, wall_time: float) -> dict[str, Any]:
        row = self.rows.get(step)
        if row is None:
            row = self.rows[step] = {}
            self.times[step] = wall_time
        elif wall_time < self.times[step]:
            self.times[step] = wall_time
        return row

    def read(self, acc: Any) -> None:
        tags = acc.Tags().get("tensors", [])
        for tag in tags:
            plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
            if plugin == "hparams":
                continue
            reader = getattr(self, f"_{plugin}", None)
            if reader is None:
                continue  # pr_curves, mesh, custom_scalars...: not kept
            for event in acc.Tensors(tag):
                reader(tag, event)
        self._hparams(acc)

    def read_hparams_session(self, acc: Any) -> None:
        """A child folder of add_hparams(): its hparams are the config, its metrics summary values."""
        self._hparams(acc)
        for tag in acc.Tags().get("tensors", []):
            if acc.SummaryMetadata(tag).plugin_data.plugin_name == "scalars":
                events = acc.Tensors(tag)
                if events:
                    self.hparam_metrics[tag] = float(_tensor_value(events[-1]))

    def _hparams(self, acc: Any) -> None:
        from tensorboard.plugins.hparams import plugin_data_pb2

        content = acc.PluginTagToContent("hparams") if "hparams" in acc.ActivePlugins() else {}
        for raw in content.values():
            data = plugin_data_pb2.HParamsPluginData.FromString(raw)
            if data.HasField("session_start_info"):
                for name, value in data.session_start_info.hparams.items():
                    self.run.config[name] = _hparam_value(value)

    # -- one reader per plugin -------------------------------------------------------
    def _scalars(self, tag: str, event: Any) -> None:
        self._cell(event.step, event.wall_time)[tag] = float(_tensor_value(event))

    def _text(self, tag: str, event: Any) -> None:
        value = _tensor_value(event)
        texts = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in value.reshape(-1).tolist()]
        # add_text's tag gets "/text_summary" appended by TensorBoard's writers.
        key = tag[: -len("/text_summary")] if tag.endswith("/text_summary") else tag
        self._cell(event.step, event.wall_time)[key] = texts[0] if len(texts) == 1 else orjson.dumps(texts).decode()

    def _histograms(self, tag: str, event: Any) -> None:
        from recorder.media.histogram import Histogram

        parts = histogram_parts(_tensor_value(event))
        if parts is not None:
            edges, counts = parts
            self._media(tag, event, [Histogram(np_histogram=(counts, edges))])

    def _images(self, tag: str, event: Any) -> None:
        encoded = list(event.tensor_proto.string_val)[2:]  # width, height, then the images
        images = [self.run.image_from_bytes(data) for data in encoded]
        if images:
            self._media(tag, event, images)

    def _media(self, tag: str, event: Any, items: list[Any]) -> None:
        ref = self.run.media_value(tag, event.step, items, event.wall_time)
        if ref is not None:
            self._cell(event.step, event.wall_time)[tag] = ref

    def finish(self) -> None:
        for step in sorted(self.rows):
            self.run.log_row(step, self.rows[step], self.times[step])
        if self.hparam_metrics:
            self.run.source_summary = dict(self.hparam_metrics)
