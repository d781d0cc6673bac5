"""face-recognition-api-client: the Python client of the Wajah face recognition API (standard library only).

>>> from face_recognition_api_client import Client, FaceRecognitionError, verify_webhook_signature
"""
from .client import Client, FaceRecognitionClient
from .errors import (
    CLIENT_ERROR_CODES,
    NETWORK_ERROR,
    TIMEOUT,
    UNEXPECTED_RESPONSE,
    FaceRecognitionError,
)
from .images import ImageInput
from .resources import UNSET
from .signature import sign_webhook_payload, verify_webhook_signature
from .types import LIVENESS_CHALLENGES, WEBHOOK_EVENTS

__version__ = "1.0.0"

__all__ = [
    "CLIENT_ERROR_CODES",
    "Client",
    "FaceRecognitionClient",
    "FaceRecognitionError",
    "ImageInput",
    "LIVENESS_CHALLENGES",
    "NETWORK_ERROR",
    "TIMEOUT",
    "UNEXPECTED_RESPONSE",
    "UNSET",
    "WEBHOOK_EVENTS",
    "__version__",
    "sign_webhook_payload",
    "verify_webhook_signature",
]
