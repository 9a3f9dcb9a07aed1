"""FP8 GEMM at a misaligned K before and after zero padding, on one GPU (torch._scaled_mm).

The case is an MLP down_proj after pruning: y[M, N] = x[M, K] . W[N, K]^T with K = 11469 (not a
multiple of 16), against K padded with zeros to 11472 (multiple of 16: cuBLASLt FP8's rule) and to
11520 (multiple of 128: block-FP8's scale tile). For each M it measures
  bf16          torch.matmul at every K (the 16-bit fallback a runtime keeps a layer in)
  fp8           torch._scaled_mm with per-tensor scales at every K (11469 is expected to be refused:
                the error is recorded, not hidden)
  fp8-pad-call  the runtime workaround: pad x with zeros to 11472 on every call, then _scaled_mm
and checks that the padded FP8 results equal the unpadded math: padded columns are zeros, so the
result at 11472 and 11520 is compared against an FP32 matmul of the dequantized, unpadded operands.
Writes $OUT/fp8-gemm.json. Usage: python3 bench/gpu_fp8_gemm.py [--iters N] [--ms 16,128,2048,8192] (M: tokens; torch checks FP8 operand dims against 16, so M starts at 16)
"""
import argparse
import json
import os
import platform
import statistics
import sys

K_MISALIGNED = 11469
K_PADDED = (11472, 11520)
N_OUT = 4096
E4M3_MAX = 448.0


def padded_k(k, multiple):
    """The least multiple of `multiple` that is >= k (pure; unit-tested without torch)."""
    return -(-k // multiple) * multiple


def summarize(times_ms):
    """Median and spread of per-iteration times in ms."""
    s = sorted(times_ms)
    return {"median_ms": statistics.median(s), "min_ms": s[0], "max_ms": s[-1], "iters": len(s)}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--ms", default="16,128,2048,8192")
    args = ap.parse_args(argv)
    import torch

    dev = torch.device("cuda")
    torch.manual_seed(0)
    out_dir = os.environ.get("OUT", "/tmp/gac-out")
    os.makedirs(out_dir, exist_ok=True)

    def timeit(fn):
        for _ in range(args.warmup):
            fn()
        torch.cuda.synchronize()
        times = []
        for _ in range(args.iters):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b))
        return summarize(times)

    def to_fp8(t):
        scale = (t.abs().max().float() / E4M3_MAX).clamp(min=1e-12)
        return (t.float() / scale).to(torch.float8_e4m3fn), scale.reshape(())

    w_full = torch.randn(N_OUT, K_MISALIGNED, device=dev, dtype=torch.bfloat16) * 0.02
    w8, sw = to_fp8(w_full)
    results = {
        "schema": "gac-fp8-gemm/1",
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "n": N_OUT,
        "k_misaligned": K_MISALIGNED,
        "k_padded": list(K_PADDED),
        "cases": [],
    }

    def pad_cols(t, k):
        return torch.nn.functional.pad(t, (0, k - t.shape[1])) if k > t.shape[1] else t

    for m in [int(x) for x in args.ms.split(",")]:
        x_full = torch.randn(m, K_MISALIGNED, device=dev, dtype=torch.bfloat16)
        x8, sx = to_fp8(x_full)
        reference = (x8.float() * sx) @ (w8.float() * sw).t()  # FP32 math of the unpadded FP8 operands
        for k in (K_MISALIGNED,) + K_PADDED:
            xb = pad_cols(x_full, k)
            wb = pad_cols(w_full, k)
            case = {"m": m, "k": k, "op": "bf16"}
            case.update(timeit(lambda: torch.matmul(xb, wb.t())))
            results["cases"].append(case)
            xq = pad_cols(x8.view(torch.uint8), k).view(torch.float8_e4m3fn).contiguous()
            wq = pad_cols(w8.view(torch.uint8), k).view(torch.float8_e4m3fn).contiguous()  # 0x00 is +0 in E4M3
            case = {"m": m, "k": k, "op": "fp8"}
            try:
                run = lambda: torch._scaled_mm(xq, wq.t(), scale_a=sx, scale_b=sw, out_dtype=torch.bfloat16)
                y = run()
                case.update(timeit(run))
                diff = (y.float() - reference).abs().max().item()
                case["max_abs_diff_vs_unpadded_fp32"] = diff
                case["max_abs_reference"] = reference.abs().max().item()
            except Exception as e:  # the refusal at a misaligned K is a result
                case["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
            results["cases"].append(case)
        wq16 = pad_cols(w8.view(torch.uint8), K_PADDED[0]).view(torch.float8_e4m3fn).contiguous()
        case = {"m": m, "k": K_MISALIGNED, "op": "fp8-pad-call", "padded_to": K_PADDED[0]}
        try:
            def run_pad():
                xq = torch.nn.functional.pad(x8.view(torch.uint8), (0, K_PADDED[0] - K_MISALIGNED)).view(torch.float8_e4m3fn)
                return torch._scaled_mm(xq, wq16.t(), scale_a=sx, scale_b=sw, out_dtype=torch.bfloat16)
            run_pad()
            case.update(timeit(run_pad))
        except Exception as e:
            case["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
        results["cases"].append(case)
        print(json.dumps([c for c in results["cases"] if c["m"] == m]), flush=True)

    with open(os.path.join(out_dir, "fp8-gemm.json"), "w") as f:
        json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
