"""Image inputs: bytes, a file path, a file object, or a ``data:image/…;base64,`` URL."""
from __future__ import annotations

import base64
import binascii
import os
from typing import IO, Tuple, Union

#: What every image parameter accepts:
#:  * ``bytes`` / ``bytearray`` / ``memoryview``: the encoded image (JPEG, PNG or WebP);
#:  * ``str`` or ``os.PathLike``: a file path (a ``str`` starting with ``data:`` is a data URL instead);
#:  * a binary file object (anything with ``read()``), e.g. ``open("face.jpg", "rb")`` or ``io.BytesIO``.
ImageInput = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", IO[bytes]]


def sniff_content_type(data: bytes) -> str:
    """The image MIME type from the first bytes; ``application/octet-stream`` when unknown (the server decides)."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


_EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


def read_image(image: ImageInput, field: str = "image") -> Tuple[bytes, str, str]:
    """``(data, filename, content_type)`` of an image input. Raises TypeError/ValueError on a bad input
    and OSError when a path cannot be read."""
    name = None
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
    elif isinstance(image, str) and image.startswith("data:"):
        head, sep, payload = image.partition(",")
        if not sep or not head.endswith(";base64"):
            raise ValueError(f"{field}: a data URL must be data:image/…;base64,<data>")
        try:
            data = base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError) as e:
            raise ValueError(f"{field}: the data URL is not valid base64") from e
    elif isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        with open(path, "rb") as f:
            data = f.read()
        name = os.path.basename(path)
    elif hasattr(image, "read"):
        raw = image.read()
        if isinstance(raw, str):
            raise TypeError(f"{field}: open the file in binary mode ('rb')")
        data = bytes(raw)
        file_name = getattr(image, "name", None)
        if isinstance(file_name, str) and file_name:
            name = os.path.basename(file_name)
    else:
        raise TypeError(f"{field}: expected bytes, a file path or a binary file object, got {type(image).__name__}")
    if not data:
        raise ValueError(f"{field}: the image is empty")
    content_type = sniff_content_type(data)
    if not name:
        name = field + _EXT.get(content_type, ".bin")
    return data, name, content_type
