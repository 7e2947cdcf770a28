"""Rich values for log(): Image, Histogram, Table (and charts from recorder.plot).

Nothing heavy is imported here: numpy, Pillow, pyarrow and torch load when a
constructor or the writer thread needs them.
"""

from recorder.media.histogram import Histogram
from recorder.media.image import Image
from recorder.media.table import Table

__all__ = ["Histogram", "Image", "Table"]
