"""dicomstream DICOMweb plugin: WADO-RS and QIDO-RS sources, a STOW-RS sink.

Installed, it registers ``dicomweb+http://`` and ``dicomweb+https://``::

    # a study, streamed part by part, one file per instance (<study>/<series>/<sop>.dcm)
    dicomstream rewrite dicomweb+http://host/dicom-web/studies/1.2.3 out/
    # a QIDO-RS search, then each match retrieved
    dicomstream rewrite 'dicomweb+http://host/dicom-web/studies?PatientID=X' out/
    # every instance under a prefix, listed with QIDO-RS, one retrieve each
    dicomstream rewrite dicomweb+http://host/dicom-web/studies/ out/ --jobs 8
    # STOW-RS: a directory tree stored, each instance streamed up
    dicomstream rewrite in/ dicomweb+http://host/dicom-web/studies

Auth: ``--url-option token=…`` / ``DICOMWEB_TOKEN`` (bearer), ``username``/``password``
options, credentials in the URL or ``DICOMWEB_USERNAME``/``DICOMWEB_PASSWORD`` (basic).
"""

from __future__ import annotations

__all__ = (
    "PartSource",
    "Resource",
    "StowSink",
    "WadoInstances",
    "WadoSource",
    "__version__",
    "list_urls",
    "parse_url",
    "search",
)

from dicomstream_dicomweb._urls import Resource, parse_url
from dicomstream_dicomweb.qido import list_urls, search
from dicomstream_dicomweb.stow import StowSink
from dicomstream_dicomweb.wado import PartSource, WadoInstances, WadoSource

__version__ = "0.1.0"
