"""Rich values for log(): Image, Histogram, Table (and charts from recorder.plot).

Nothing heavy is imported here: numpy, Pillow, pyarrow and torch load when a
constructor or the writer thread needs them.
"""

from .histogram import Histogram
from .image import Image
from .table import Table

__all__ = ["Image", "Histogram", "Table"]
