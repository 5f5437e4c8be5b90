"""dicomstream sources and sinks for object stores and HTTP.

Installed, it registers URL schemes with dicomstream, so every command and API that
takes a path also takes these URLs::

    dicomstream rewrite s3://in/ s3://out/ --endpoint-url http://127.0.0.1:9000 --jobs 16
    dicomstream dump https://example.org/CT.dcm

========================  =======================================================
scheme                    what
========================  =======================================================
``s3://bucket/key``       :mod:`~dicomstream_cloud.s3`: resumable streamed GETs,
                          streamed multipart uploads, prefix listing
``http://``, ``https://`` :mod:`~dicomstream_cloud.http`: streamed reads resumed
                          with Range requests
``gs://`` ``gcs://``      :mod:`~dicomstream_cloud.fsspec_io`: through fsspec
``az://`` ``abfs://``     (gcsfs / adlfs installed), transactional writes,
``abfss://`` ``memory://``  listing
========================  =======================================================
"""

from __future__ import annotations

__all__ = (
    "FsspecSink",
    "FsspecSource",
    "HttpSource",
    "S3Options",
    "S3Sink",
    "S3Source",
    "__version__",
)

from dicomstream_cloud.fsspec_io import FsspecSink, FsspecSource
from dicomstream_cloud.http import HttpSource
from dicomstream_cloud.s3 import S3Options, S3Sink, S3Source

__version__ = "0.1.0"
