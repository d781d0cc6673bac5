"""multipart/form-data encoding (RFC 7578) with the standard library only."""
from __future__ import annotations

import uuid
from typing import List, Mapping, Optional, Sequence, Tuple

#: (field name, filename, content type, bytes)
FilePart = Tuple[str, str, str, bytes]


def _quote(value: str) -> str:
    # What browsers do (WHATWG HTML "multipart/form-data encoding algorithm"): escape ", CR and LF.
    return value.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


def encode_multipart(
    fields: Mapping[str, str] | Sequence[Tuple[str, str]],
    files: Sequence[FilePart] = (),
    boundary: Optional[str] = None,
) -> Tuple[bytes, str]:
    """The body and its ``Content-Type`` header value. Text fields come first, then the files, in order.

    >>> body, ctype = encode_multipart({"user_id": "EMP001"}, [("image", "face.jpg", "image/jpeg", b"...")])
    """
    b = boundary or f"----WajahPy{uuid.uuid4().hex}"
    dash = b"--" + b.encode("ascii")
    items = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
    if boundary is None and (any(dash in v.encode("utf-8") for _, v in items) or any(dash in f[3] for f in files)):
        return encode_multipart(items, files, None)  # practically impossible with a random boundary
    chunks: List[bytes] = []
    for name, value in items:
        chunks += [
            dash,
            b"\r\n",
            f'Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode("utf-8"),
            value.encode("utf-8"),
            b"\r\n",
        ]
    for name, filename, content_type, data in files:
        chunks += [
            dash,
            b"\r\n",
            f'Content-Disposition: form-data; name="{_quote(name)}"; filename="{_quote(filename)}"\r\n'.encode("utf-8"),
            f"Content-Type: {content_type}\r\n\r\n".encode("ascii"),
            data,
            b"\r\n",
        ]
    chunks += [dash, b"--\r\n"]
    return b"".join(chunks), f"multipart/form-data; boundary={b}"
