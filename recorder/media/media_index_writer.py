"""The media index: one record per logged media item, journal + Parquet parts.

Uses the history stream's machinery (crash-safe journal on append, atomic Parquet
parts, compaction, layout.live_stream_files for readers) with a fixed schema.
"""

from __future__ import annotations

from recorder import layout
from recorder.journal import decode_journal, media_index_table
from recorder.stream_writer import StreamWriter, read_segment, unlink_quietly


class MediaIndexWriter(StreamWriter):
    """A StreamWriter whose rows are media records rather than metric rows."""

    def _publish(self, seq: int, unjournaled: bytes) -> None:
        from recorder.parquet_parts import write_parquet_atomic

        # Decoded the way a reader decodes the journal, so part and journal always agree.
        journal = self.directory / layout.journal_name(self.writer_id, seq)
        rows = decode_journal(read_segment(journal, unjournaled))
        if rows:
            table = media_index_table(rows, self.run_id)
            write_parquet_atomic(table, self.directory / layout.part_name(self.writer_id, seq, seq))
            self._parts.append(layout.PartName(self.writer_id, seq, seq))
        unlink_quietly(journal)
