"""The first message: what this GPU and runtime are. Imports torch lazily; `probe()` never raises."""
from __future__ import annotations

import platform
import subprocess
from typing import Any, Optional

from .protocol import PROTOCOL_VERSION

WORKER_VERSION = "0.1.0"
SDPA_BACKEND_NAMES = ("FLASH", "EFFICIENT", "CUDNN", "MATH")
# torch.backends.cuda switches for each backend (whether PyTorch will consider it at all).
_ENABLED_FLAGS = {
    "FLASH": "flash_sdp_enabled",
    "EFFICIENT": "mem_efficient_sdp_enabled",
    "CUDNN": "cudnn_sdp_enabled",
    "MATH": "math_sdp_enabled",
}


def base() -> dict:
    return {"type": "capability", "protocol_version": PROTOCOL_VERSION, "worker_version": WORKER_VERSION,
            "python": platform.python_version()}


def probe(device: int) -> tuple[dict, Any]:
    """(capability message, torch module or None). ok=false messages end the session."""
    msg = base()
    try:
        import torch
    except Exception as e:  # ImportError, or a broken install raising something else
        msg.update(ok=False, reason="no_torch", message=f"import torch failed: {type(e).__name__}: {e}")
        return msg, None
    msg["torch"] = torch.__version__
    msg["cuda"] = torch.version.cuda
    if not torch.cuda.is_available() or torch.cuda.device_count() == 0:
        msg.update(ok=False, reason="no_gpu", message="torch.cuda.is_available() is false")
        return msg, None
    count = torch.cuda.device_count()
    if not 0 <= device < count:
        msg.update(ok=False, reason="bad_device", message=f"--device {device} but this machine shows {count} CUDA device(s)")
        return msg, None
    torch.cuda.set_device(device)
    props = torch.cuda.get_device_properties(device)
    from .method import ClockReader

    clock = ClockReader(device)
    msg.update(
        ok=True,
        gpu={
            "name": props.name,
            "index": device,
            "device_count": count,
            "sm_count": props.multi_processor_count,
            "l2_bytes": int(getattr(props, "L2_cache_size", 0) or 0),
            "memory_bytes": int(props.total_memory),
            "compute_capability": f"{props.major}.{props.minor}",
            "sm_clock_max_mhz": clock.max_mhz,
            "sm_clock_mhz_now": clock.read(),
            "clock_source": clock.source,
        },
        driver=_driver_version(),
        cudnn=_cudnn_version(torch),
        triton=_triton_version(),
        transformers=package_version("transformers"),
        sdpa_backends={},
        sdpa_backends_detail={},
    )
    for name in SDPA_BACKEND_NAMES:
        enabled = bool(getattr(torch.backends.cuda, _ENABLED_FLAGS[name])())
        works, note = _sdpa_probe(torch, name) if enabled else (False, "disabled in torch.backends.cuda")
        msg["sdpa_backends"][name] = enabled and works
        msg["sdpa_backends_detail"][name] = {"enabled": enabled, "probe": "ok" if works else note}
    return msg, torch


def _sdpa_probe(torch, name: str) -> tuple[bool, str]:
    """One tiny fp16 call (1x1x16x64) forced onto the backend."""
    import warnings

    from .ops import sdpa_backend_context

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = torch.randn(1, 1, 16, 64, dtype=torch.float16, device="cuda")
            with sdpa_backend_context(name)():
                torch.nn.functional.scaled_dot_product_attention(q, q, q)
            torch.cuda.synchronize()
        return True, "ok"
    except Exception as e:
        return False, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


def _driver_version() -> Optional[str]:
    try:
        import pynvml  # type: ignore

        pynvml.nvmlInit()
        v = pynvml.nvmlSystemGetDriverVersion()
        return v.decode() if isinstance(v, bytes) else str(v)
    except Exception:
        pass
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    except Exception:
        return None


def _cudnn_version(torch) -> Optional[str]:
    try:
        v = torch.backends.cudnn.version()  # e.g. 91900
        return None if v is None else f"{v // 10000}.{v % 10000 // 100}.{v % 100}"
    except Exception:
        return None


def package_version(name: str) -> Optional[str]:
    """An installed distribution's version from its metadata, without importing it (None when absent)."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(name)
        except PackageNotFoundError:
            return None
    except Exception:
        return None


def _triton_version() -> Optional[str]:
    try:
        import triton  # type: ignore

        return triton.__version__
    except Exception:
        return None
