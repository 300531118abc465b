"""Downloads from HTTP storage (``davs://``, ``https://``, ``dav://``, ``http://``) to local
files.

gfal2 makes them with its generic streamed copy (its HTTP plugin copies only *to* HTTP) in
pieces of the context option ``CORE:COPY_BUFFERSIZE``; its default of 4 MiB ran at half of
davix-get's speed, so these downloads take a context of their own with smaller pieces
(:func:`law_core_gfal.context.get_download_context` has the measurements). The copy itself
stays gfal2's: its checks (overwrite, parent directory, checksums), its timeout and its
errors are the same as for every other copy.

That copy ends at the first empty read. davix reports a body that ends before its
``Content-Length`` as an error (the file shrinking on the server, or the server going away,
during a download: "Invalid read in request"), and the size of the local file is compared
with the source's after the copy too (one more request; not with
``gfal_transfer_strict_copy``, which asks for the copy alone): a short file is never
reported as done.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from law_core.plugin import redact, scheme_of
from law_core_gfal.context import get_download_context

if TYPE_CHECKING:
    from law_core_gfal.file_interface import GFALFileInterface

#: the schemes of gfal2's HTTP plugin that law-core-gfal serves
HTTP_SCHEMES = ("davs", "https", "dav", "http")

_FILE_PREFIX = "file://"


def is_http_download(src_uri: str, dst_uri: str) -> bool:
    """Whether copying ``src_uri`` to ``dst_uri`` is a download from HTTP storage."""
    return scheme_of(src_uri) in HTTP_SCHEMES and dst_uri.startswith(_FILE_PREFIX)


def download(interface: GFALFileInterface, src_uri: str, dst_uri: str) -> None:
    """Copy ``src_uri`` (HTTP) to the local ``dst_uri`` (``file://``) through the download
    context, with ``interface``'s transfer options and error mapping.

    An incomplete file is removed and raised as an ``OSError`` with ``EIO`` (transient: the
    core tries again). Any other failure removes the destination when it was not there
    before (gfal2 leaves what it wrote); one that was there is left as gfal2 left it (its
    ``overwrite`` option decides whether it is replaced)."""
    context = get_download_context()
    # the local path as gfal2's file plugin takes it: all after "file://"
    local = dst_uri[len(_FILE_PREFIX):]
    existed = os.path.lexists(local)
    try:
        interface._run("copy to " + redact(dst_uri), src_uri, context.filecopy,
                       interface.transfer_parameters(), src_uri, dst_uri)
        if interface.transfer["gfal_transfer_strict_copy"]:
            return  # only the copy, as asked
        expected = interface._run("stat", src_uri, context.stat, src_uri).st_size
        arrived = os.path.getsize(local)
        if arrived != expected:
            _remove_quietly(local)  # written by this copy, whether it replaced a file or not
            raise OSError(errno.EIO, f"download incomplete: {arrived} of {expected} bytes "
                          "arrived", redact(src_uri))
    except BaseException:
        if not existed:
            _remove_quietly(local)
        raise


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass  # missing, or not ours to remove: the error that counts is raised by the caller
