"""File helpers shared by every data loader: checksums, required files, text reading, download.

Every failure a user can fix (missing, corrupt or unreadable file, failed download) is raised as
:class:`~automata.errors.DataError` with a one-line message that names the file or URL, the
folder, and what to do about it. Nothing here is specific to one data set.

Checksums have one source: ``SHA256SUMS`` files in the ``sha256sum`` format. :func:`verify_file`
checks a file before it is read against

1. the ``SHA256SUMS`` in the file's own folder, when it lists the file (so any data folder can
   carry its checksums, the shipped ones do); otherwise
2. for a data set that ships with the package (``shipped="dna"``), the shipped folder's
   ``SHA256SUMS``, by file name: the published files are checked wherever they are read from. A
   shipped ``X.gz`` also vouches for a plain ``X`` and for another gzip of the same content.

Each unchanged file is hashed once per process.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from automata.errors import DataError

__all__ = [
    "GZIP_MAGIC",
    "SHA256SUMS",
    "SHIPPED_DIR",
    "data_dir_hint",
    "download",
    "open_text",
    "read_sha256sums",
    "read_text",
    "require_files",
    "sha256_file",
    "shipped_sha256",
    "unzip",
    "verify_file",
    "verify_sha256",
]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

#: First two bytes of every gzip stream.
GZIP_MAGIC = b"\x1f\x8b"

#: Data files that ship inside the package, one folder per data set.
SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"

#: Name of the checksum file of a data folder (``sha256sum`` format).
SHA256SUMS = "SHA256SUMS"

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


def verify_sha256(
    path: PathLike, expected: str, *, gunzip: bool = False, source: str = "its known digest"
) -> None:
    """Check a file's sha256 against ``expected``; each unchanged file is hashed once a process.

    Args:
        path: the file.
        expected: hex digest (case-insensitive).
        gunzip: compare the digest of the decompressed content instead of the stored bytes.
        source: where ``expected`` comes from, for the error message.

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
            f"({path.name}: sha256 mismatch with {source}; the file is corrupt or was replaced: "
            f"delete it and re-download / re-copy)"
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


@functools.cache
def shipped_sha256(dataset: str) -> dict[str, str]:
    """Published sha256 of a shipped data set's files, by file name.

    The entries of ``SHIPPED_DIR/<dataset>/SHA256SUMS``, plus, for each listed ``X.gz``, the
    digest of its decompressed content under the name ``X`` (the shipped ``.gz`` is verified
    first, so that digest comes from the published bytes).

    Raises:
        DataError: the folder has no ``SHA256SUMS``, or a shipped ``.gz`` fails its check.
    """
    folder = SHIPPED_DIR / dataset
    sums_file = folder / SHA256SUMS
    if not sums_file.is_file():
        raise DataError(f"no shipped data set '{dataset}' ({sums_file} does not exist)")
    sums = read_sha256sums(sums_file)
    known = dict(sums)
    for name, digest in sums.items():
        if name.endswith(".gz") and name.removesuffix(".gz") not in sums:
            verify_sha256(folder / name, digest, source=str(sums_file))
            known[name.removesuffix(".gz")] = sha256_file(folder / name, gunzip=True)
    return known


def verify_file(path: PathLike, shipped: str | None = None) -> bool:
    """Check a data file against its published sha256 before it is read (see the module doc).

    Args:
        path: the file.
        shipped: the shipped data set (folder under :data:`SHIPPED_DIR`) whose ``SHA256SUMS``
            also checks files of the same names outside that folder; ``None``: only the
            ``SHA256SUMS`` next to the file counts.

    Returns:
        ``True`` when a digest was known and matched, ``False`` when none is known.

    Raises:
        DataError: checksum mismatch (naming the file and where the digest came from), or an
            unreadable file.
    """
    path = Path(path)
    sums_file = path.parent / SHA256SUMS
    if sums_file.is_file():
        listed = read_sha256sums(sums_file)
        if path.name in listed:
            verify_sha256(path, listed[path.name], source=str(sums_file))
            return True
    if shipped is None:
        return False
    known = shipped_sha256(shipped)
    expected = known.get(path.name)
    if expected is None:
        return False
    source = f"the published {path.name} (shipped/{shipped}/{SHA256SUMS})"
    try:
        verify_sha256(path, expected, source=source)
    except DataError as bytes_error:
        content = known.get(path.name.removesuffix(".gz")) if path.suffix == ".gz" else None
        if content is None:
            raise
        # Another gzip of the published content (other compression level or header).
        try:
            verify_sha256(path, content, gunzip=True, source=source)
        except DataError:
            raise bytes_error from None
    return True


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


def open_text(path: PathLike, encoding: str = "utf-8") -> IO[str]:
    """A text stream over a file, gunzipped when it is gzip (``.gz`` or magic bytes).

    Line endings are kept as they are (``newline=""``), so ``for line in stream`` splits on
    ``\n``, ``\r\n`` and ``\r`` only, whatever the characters inside a line.

    Raises:
        DataError: the file cannot be opened.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
        if path.suffix == ".gz" or magic == GZIP_MAGIC:
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding=encoding, newline="")
        return open(path, encoding=encoding, newline="")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def data_dir_hint(
    dataset: str,
    urls: Sequence[str] = (),
    downloadable: bool = True,
    folder: PathLike | None = None,
) -> str:
    """The standard "how to get the files" sentence for a missing-files error.

    Args:
        dataset: the data set's name (its folder name under ``paths.data_dir``).
        urls: where the files can be downloaded by hand.
        downloadable: whether ``dataset.download=true`` can fetch them.
        folder: the folder the files were looked for in (``dataset.root``). Named otherwise
            than the data set, it is a folder of the user's own (``root: /my/data`` in their
            YAML), not ``${paths.data_dir}/<name>``: the sentence then names ``dataset.root``.
    """
    parts = []
    if urls:
        parts.append(f"download {', '.join(urls)} into that folder")
    if downloadable:
        parts.append("set dataset.download=true to download them")
    if folder is not None and Path(folder).name != dataset:
        parts.append("set dataset.root (in the dataset's YAML) to the folder that holds them")
    else:
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
        if len(missing) == 1 and " or " not in missing[0]:
            raise DataError(f"{dataset}: missing {listed} in {folder}; {hint}")
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
        name = Path(urllib.parse.urlsplit(url).path).name or url
        raise DataError(
            f"could not download {url} to {dest}: {_reason(exc)} (download of {name} failed, "
            f"nothing was saved; check the URL and the network, or copy the file there by hand)"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def unzip(archive: PathLike, folder: PathLike, prefix: str = "") -> None:
    """Extract the members of a zip archive under ``prefix`` directly into ``folder``.

    Args:
        archive: the zip file.
        folder: where the files go (created when needed).
        prefix: only members whose name starts with it are extracted, without it
            (``"SST-2/"``: ``SST-2/train.tsv`` becomes ``folder/train.tsv``).

    Raises:
        DataError: not a zip archive, or a member that would land outside ``folder``.
    """
    archive, folder = Path(archive), Path(folder)
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                if member.is_dir() or not member.filename.startswith(prefix):
                    continue
                target = (folder / member.filename[len(prefix) :]).resolve()
                # Refuse members that would land outside the folder (``..`` or absolute names).
                if folder.resolve() not in target.parents:
                    raise DataError(f"{archive}: unsafe member name {member.filename!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except zipfile.BadZipFile as exc:
        raise DataError(f"{archive}: not a zip archive ({exc})") from None
