"""Checking an uploaded file before it is stored: its type read from its content (never from its name or the
browser's word), its size, a file name safe to show and to send back, and images stripped of their metadata (a
phone photo's EXIF holds where and when it was taken, and often the camera owner's name).

Accepted: PDF, PNG, JPEG, and Office documents (Word, Excel, PowerPoint as .docx, .xlsx, .pptx). Everything else,
including a file whose content doesn't match a type it claims, is refused with a clear message."""

from __future__ import annotations

import io
import struct
import unicodedata
import zipfile
from dataclasses import dataclass

from lhn.errors import ValidationFailed

MAX_BYTES = 10 * 1024 * 1024  # 10 MiB: slides as PDF, a photo of a whiteboard
NAME_MAX = 120
OFFICE = {  # the part every such package holds -> (MIME type, extension)
    "word/document.xml": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xl/workbook.xml": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "ppt/presentation.xml": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
}
KINDS = "PDF, PNG, JPEG, Word (.docx), Excel (.xlsx) or PowerPoint (.pptx)"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"pHYs"}


@dataclass
class CheckedFile:
    name: str  # safe to show and to put in Content-Disposition
    content_type: str
    data: bytes


def safe_name(filename: str, extension: str) -> str:
    """The file's name without folders, control characters or quotes, ending in the extension its content has."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] not in "CZ" or c == " ")
    base = base.replace('"', "").replace(";", "").strip(" .")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = stem[: NAME_MAX - len(extension) - 1].strip(" .") or "file"
    return f"{stem}.{extension}"


def _office(data: bytes) -> tuple[str, str] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = set(package.namelist())
    except Exception:  # any archive zipfile cannot read (a bad version byte: NotImplementedError) is not one
        return None
    if "[Content_Types].xml" not in names:
        return None
    return next((kind for part, kind in OFFICE.items() if part in names), None)


def strip_png(data: bytes) -> bytes:
    """The PNG with only the chunks that draw it (text, time and EXIF chunks dropped). Raises ValueError."""
    out, at = [PNG_SIGNATURE], len(PNG_SIGNATURE)
    while at < len(data):
        if at + 12 > len(data):
            raise ValueError("truncated chunk")
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        end = at + 12 + length
        if end > len(data):
            raise ValueError("truncated chunk")
        if kind in PNG_KEEP:
            out.append(data[at:end])
        at = end
        if kind == b"IEND":
            return b"".join(out)
    raise ValueError("no IEND")


def strip_jpeg(data: bytes) -> bytes:
    """The JPEG without APP1-APP15 (EXIF, XMP, IPTC...) but its colour profile, without comments, and without
    anything after its end (a second picture); APP0 (JFIF) and the image stay. Raises ValueError."""
    out, at = [data[:2]], 2
    while at < len(data):
        if data[at] != 0xFF or at + 4 > len(data):
            raise ValueError("not a marker")
        marker = data[at + 1]
        if marker == 0xDA:  # start of scan: the image data up to the end-of-image marker; what follows goes
            end = data.find(b"\xff\xd9", at)  # (a phone's second picture, with its own EXIF); FF in the data is FF00
            if end < 0:
                raise ValueError("no end of image")
            out.append(data[at : end + 2])
            return b"".join(out)
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        end = at + 2 + length
        if end > len(data):
            raise ValueError("truncated segment")
        icc = marker == 0xE2 and data[at + 4 : at + 16] == b"ICC_PROFILE\x00"  # colours, not about anyone
        if icc or not (0xE1 <= marker <= 0xEF or marker == 0xFE):
            out.append(data[at:end])
        at = end
    raise ValueError("no image data")


def check_file(data: bytes, filename: str) -> CheckedFile:
    """The upload as it may be stored, or ValidationFailed({"file": why})."""
    if not data:
        raise ValidationFailed({"file": "Choose a file."})
    if len(data) > MAX_BYTES:
        raise ValidationFailed({"file": f"Files may be up to {MAX_BYTES // (1024 * 1024)} MB."})
    try:
        if data.startswith(b"%PDF-"):
            return CheckedFile(safe_name(filename, "pdf"), "application/pdf", data)
        if data.startswith(PNG_SIGNATURE):
            return CheckedFile(safe_name(filename, "png"), "image/png", strip_png(data))
        if data.startswith(b"\xff\xd8\xff"):
            return CheckedFile(safe_name(filename, "jpg"), "image/jpeg", strip_jpeg(data))
    except (ValueError, struct.error):
        raise ValidationFailed({"file": "This image is damaged: open it and save it again, then attach it."}) from None
    if data.startswith(b"PK\x03\x04") and (office := _office(data)):
        return CheckedFile(safe_name(filename, office[1]), office[0], data)
    raise ValidationFailed({"file": f"Attach a {KINDS} file: this one's content is none of them."})
