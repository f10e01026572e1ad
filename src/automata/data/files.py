"""File helpers shared by the data loaders: checksums, required files, text reading, download.

Every failure a user can fix (missing, corrupt or unreadable file, failed download) is raised as
:class:`~automata.errors.DataError` with a one-line message that names the file or URL, the
folder, and what to do about it. Nothing here is specific to one data set.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path

from automata.errors import DataError

__all__ = [
    "GZIP_MAGIC",
    "data_dir_hint",
    "download",
    "read_sha256sums",
    "read_text",
    "require_files",
    "sha256_file",
    "verify_sha256",
]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

#: First two bytes of every gzip stream.
GZIP_MAGIC = b"\x1f\x8b"

_BLOCK = 1 << 20

# (resolved path, size, mtime_ns, expected digest, gunzip) of files already verified in this
# process. Size and mtime are part of the key so that a file replaced after its first check is
# checked again.
_VERIFIED: set[tuple[str, int, int, str, bool]] = set()


def sha256_file(path: PathLike, *, gunzip: bool = False) -> str:
    """Hex sha256 of a file's bytes (of its decompressed content with ``gunzip=True``).

    Raises:
        DataError: the file cannot be read, or with ``gunzip=True`` is not valid gzip.
    """
    path = Path(path)
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") if gunzip else open(path, "rb") as fh:
            for block in iter(lambda: fh.read(_BLOCK), b""):
                digest.update(block)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: not a valid gzip file ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return digest.hexdigest()


def verify_sha256(path: PathLike, expected: str, *, gunzip: bool = False) -> None:
    """Check a file's sha256 against ``expected``; each unchanged file is hashed once a process.

    Args:
        path: the file.
        expected: hex digest (case-insensitive).
        gunzip: compare the digest of the decompressed content instead of the stored bytes.

    Raises:
        DataError: ``checksum mismatch for <file>: expected ..., got ...``.
    """
    path = Path(path)
    expected = expected.strip().lower()
    try:
        st = path.stat()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, expected, gunzip)
    if key in _VERIFIED:
        return
    actual = sha256_file(path, gunzip=gunzip)
    if actual != expected:
        what = f"the gunzipped content of {path}" if gunzip else str(path)
        raise DataError(
            f"checksum mismatch for {what}: expected sha256 {expected}, got {actual} "
            f"(file corrupt or replaced; delete it and re-download / re-copy)"
        )
    _VERIFIED.add(key)


def read_sha256sums(path: PathLike) -> dict[str, str]:
    """Parse a ``sha256sum``-style file (``<hex>  <name>`` per line) into ``{name: hex}``.

    Raises:
        DataError: a line is not ``<64 hex digits> <name>``.
    """
    path = Path(path)
    sums: dict[str, str] = {}
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        digest = parts[0].lower()
        if len(parts) != 2 or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise DataError(f"{path}:{lineno}: expected '<sha256 hex> <file name>'")
        # sha256sum writes "*name" for files hashed in binary mode.
        sums[parts[1].strip().lstrip("*")] = digest
    return sums


def read_text(path: PathLike, encoding: str = "utf-8") -> str:
    """The whole content of a text file, gunzipped when it is gzip (``.gz`` or magic bytes).

    Raises:
        DataError: unreadable file, invalid gzip data, or bytes that are not ``encoding``.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if path.suffix == ".gz" or raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise DataError(f"{path}: not a valid gzip file ({exc})") from None
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path}:{line}: not {encoding} text (byte offset {exc.start})") from None


def data_dir_hint(dataset: str, urls: Sequence[str] = (), downloadable: bool = True) -> str:
    """The standard "how to get the files" sentence for a missing-files error.

    Args:
        dataset: the data set's folder name under ``paths.data_dir``.
        urls: where the files can be downloaded by hand.
        downloadable: whether ``dataset.download=true`` can fetch them.
    """
    parts = []
    if urls:
        parts.append(f"download {', '.join(urls)} into that folder")
    if downloadable:
        parts.append("set dataset.download=true to download them")
    parts.append(
        f"point paths.data_dir=... (or the AUTOMATA_DATA_DIR environment variable) at the "
        f"folder that holds {dataset}/"
    )
    return ", or ".join(parts)


def require_files(
    folder: PathLike, names: Sequence[str | tuple[str, ...]], dataset: str, hint: str
) -> list[Path]:
    """Check that ``folder`` holds every file of ``names``; report all missing ones at once.

    Args:
        folder: where the files must be.
        names: file names; a tuple means "any one of these" (the first present one is used).
        dataset: data set name, first word of the error message.
        hint: how to get the files (see :func:`data_dir_hint`).

    Returns:
        The path of each entry of ``names``, in order.

    Raises:
        DataError: one message listing every missing file, the folder, and ``hint``.
    """
    folder = Path(folder)
    found: list[Path] = []
    missing: list[str] = []
    for entry in names:
        choices = (entry,) if isinstance(entry, str) else tuple(entry)
        present = [folder / c for c in choices if (folder / c).is_file()]
        if present:
            found.append(present[0])
        else:
            missing.append(" or ".join(choices))
    if missing:
        listed = ", ".join(missing)
        if not folder.is_dir():
            raise DataError(
                f"{dataset}: data folder {folder} does not exist (it must hold {listed}); {hint}"
            )
        noun = "file" if len(missing) == 1 else "files"
        raise DataError(f"{dataset}: {len(missing)} {noun} missing in {folder}: {listed}; {hint}")
    return found


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return " ".join(str(exc).split()) or type(exc).__name__


def download(url: str, dest: PathLike, *, timeout: float = 60.0, sha256: str | None = None) -> Path:
    """Download ``url`` to ``dest`` atomically (a temporary file in the same folder, renamed).

    A failed or interrupted download never leaves a partial ``dest`` behind, so the next run sees
    the file as missing rather than reading a truncated one.

    Args:
        url: what to fetch (``http(s)://`` or ``file://``).
        dest: the file to create; its folder is created when needed.
        timeout: seconds to wait for the server at each step.
        sha256: when given, the download must have this digest or it is discarded.

    Returns:
        ``dest`` as a :class:`~pathlib.Path`.

    Raises:
        DataError: the download failed (the message names the URL) or its checksum differs.
    """
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as exc:
        raise DataError(f"cannot write {dest} to download {url}: {_reason(exc)}") from None
    tmp = Path(tmp_name)
    logger.info("downloading %s -> %s", url, dest)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            shutil.copyfileobj(resp, out, _BLOCK)
            written = out.tell()
        if length is not None and length.isdigit() and written != int(length):
            raise DataError(
                f"download of {url} was cut short ({written} of {length} bytes); try again"
            )
        if sha256 is not None:
            actual = sha256_file(tmp)
            if actual != sha256.strip().lower():
                raise DataError(
                    f"checksum mismatch for {url}: expected sha256 {sha256}, got {actual} "
                    f"(wrong or changed file at that URL); not saved to {dest}"
                )
        tmp.chmod(0o644)  # mkstemp creates the file readable by its owner only
        os.replace(tmp, dest)
    except (OSError, ValueError) as exc:  # URLError/HTTPError/timeouts are OSError; bad URL
        raise DataError(
            f"could not download {url} to {dest}: {_reason(exc)} (check the URL and the network, "
            f"or copy the file there by hand)"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest
