"""Camera frames and still images → decoded device codes (zxing-cpp, pyzbar; OpenCV for pixels).

No Qt and no database here: the camera view in ``ui`` drives ``CameraSource``, ``decode_frame``
and ``ConfirmationFilter`` on a worker thread; the CLI uses ``decode_files_json``.
"""

from ecmo_desktop.scanning.camera import (
    CameraError,
    CameraInfo,
    CameraLost,
    CameraSource,
    ConfirmationFilter,
    list_cameras,
    trusted_on_one_frame,
)
from ecmo_desktop.scanning.decode import (
    DecodedSymbol,
    ImageReadError,
    LiveDecoder,
    decode_file,
    decode_files_json,
    decode_frame,
    load_image,
    pyzbar_available,
)

__all__ = [
    "CameraError",
    "CameraInfo",
    "CameraLost",
    "CameraSource",
    "ConfirmationFilter",
    "DecodedSymbol",
    "ImageReadError",
    "LiveDecoder",
    "decode_file",
    "decode_files_json",
    "decode_frame",
    "list_cameras",
    "load_image",
    "pyzbar_available",
    "trusted_on_one_frame",
]
