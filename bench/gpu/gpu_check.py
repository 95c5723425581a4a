"""ParticleGrid's one-call GPU check: the product's networks and engines on the lent GPU machine, beside PyTorch.

The GPU machine has a Python with torch (2.11, CUDA 13), torchvision and a CPU build of onnxruntime, and no .NET and
no network. bench/gpu/pack.sh packs the check program (a self-contained, trimmed .NET publish without libtorch) into
bench/gpu/pack/, which is carried with the working tree. On the machine, from the repository root:

    python3 bench/gpu/gpu_check.py --pack bench/gpu/pack --out "$OUT"

Steps (each one's result goes into OUT/gpu-check.json; the log is OUT/gpu-check.log):
  1. environment: GPU, CUDA, cuDNN, torch, torchvision, onnxruntime and its execution providers;
  2. binding: does TorchSharp 0.107's libLibTorchSharp.so (built for libtorch 2.10) bind to this torch's libtorch?
     Missing symbols are counted (elf_symbols.py, in its own process), then dlopen is tried;
  3. weights: each network drawn by torchvision (seeded, BatchNorm statistics randomised, head scaled so the
     probabilities are neither flat nor saturated), saved as a product model folder (weights.pth, manifest.json)
     and as raw float32 for the ONNX route; test images at each size;
  4. reference: torchvision's probabilities on the same device, float32, TF32 off;
  5. route "torchsharp": the check program runs the product's TorchSharp engine on the GPU with this torch's
     libtorch: parity with (4) within 1e-4 for each network and the soft-vote ensemble, then images/s per batch size
     (the engine, the module alone, the module in float16);
  6. PyTorch: torchvision's images/s in the same call: eager float32, eager float16, channels-last float16 and a
     CUDA graph of channels-last float16;
  7. route "onnx": the product's ONNX graphs, written by the check program from the raw weights (no libtorch), run by
     its ONNX Runtime engine on the CPU (parity and images/s), and by this Python's onnxruntime with every provider
     it has (a CUDA provider is reported when present).
Each step is bounded in time so the whole check ends within --budget-s (default 360 s; a device command may run 600 s,
and the session's 15 minutes of device time must leave room for a shorter rerun). A step that fails is recorded and
the next one runs; a measurement past its step's budget is recorded as skipped.

CI runs the same script on the CPU at a tiny size (tests/ParticleGrid.GpuCheck.Tests), with the NuGet libtorch 2.10
standing in for the machine's torch:
    python3 bench/gpu/gpu_check.py --app DIR --device cpu --torch-lib DIR --sizes 64 --batches 1,2 --out DIR
"""
import argparse
import array
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import elf_symbols  # noqa: E402

CLASSES = ["air_bubble", "glass", "protein_aggregate", "silicone_oil"]
NETWORKS = ["resnet50", "densenet201", "shufflenet_v2"]
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
TOLERANCE = 1e-4
PARITY_IMAGES = 8
PACK_ARCHIVE = "particlegrid-gpu-check.tar.xz"
APP_NAME = "particlegrid-gpu-check"

START = time.monotonic()
LOG = []


def elapsed():
    return time.monotonic() - START


def log(message):
    line = f"[{elapsed():6.1f}s] {message}"
    print(line, flush=True)
    LOG.append(line)


def tail(text, lines=30):
    return "\n".join((text or "").strip().splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------------------- steps

def environment(torch, device):
    info = {"python": platform.python_version(), "torch": torch.__version__, "cpu_count": os.cpu_count(),
            "device": device, "torch_lib": None}
    try:
        import torchvision
        info["torchvision"] = torchvision.__version__
    except ImportError as e:
        info["torchvision"] = f"missing: {e}"
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version(), capability=f"{props.major}.{props.minor}")
    try:
        import onnxruntime
        info["onnxruntime"] = onnxruntime.__version__
        info["onnxruntime_providers"] = onnxruntime.get_available_providers()
    except ImportError as e:
        info["onnxruntime"] = f"missing: {e}"
        info["onnxruntime_providers"] = []
    if shutil.which("nvidia-smi"):
        try:
            info["nvidia_smi"] = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                                                capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError) as e:
            info["nvidia_smi"] = f"failed: {e}"
    return info


def unpack(pack, work):
    """The packed publish into WORK/app; returns the app folder."""
    archive = os.path.join(pack, PACK_ARCHIVE)
    if not os.path.exists(archive):
        raise FileNotFoundError(f"{archive} is missing: run bench/gpu/pack.sh here first and carry bench/gpu/pack")
    app = os.path.join(work, "app")
    shutil.rmtree(app, ignore_errors=True)
    with tarfile.open(archive, "r:xz") as tar:
        # The "data" filter (Python 3.12+) refuses links out of the folder and keeps the executable bits.
        if hasattr(tarfile, "data_filter"):
            tar.extractall(work, filter="data")
        else:
            tar.extractall(work)
    if not os.path.isdir(app):
        raise FileNotFoundError(f"{archive} holds no app/ folder")
    return app


def app_command(app):
    """How to start the check program: the self-contained executable, or `dotnet x.dll` for a plain build (CI)."""
    exe = os.path.join(app, APP_NAME)
    if os.path.exists(os.path.join(app, "libcoreclr.so")):
        return [exe]
    return [shutil.which("dotnet") or "dotnet", os.path.join(app, APP_NAME + ".dll")]


def binding_library(app):
    for candidate in (os.path.join(app, "libLibTorchSharp.so"), os.path.join(app, "runtimes", "linux-x64", "native", "libLibTorchSharp.so")):
        if os.path.exists(candidate):
            return candidate
    raise FileNotFoundError(f"no libLibTorchSharp.so in {app}")


def check_binding(app, torch_lib, work):
    """elf_symbols.py in a process of its own: loading a second libtorch into this one (beside torch's) would clash."""
    out = os.path.join(work, "binding.json")
    run = subprocess.run([sys.executable, os.path.join(HERE, "elf_symbols.py"), "--binding", binding_library(app),
                          "--lib-dir", torch_lib, "--json", out], capture_output=True, text=True, timeout=120)
    log(tail(run.stdout, 12))
    if not os.path.exists(out):
        return {"binds": False, "error": tail(run.stderr or run.stdout)}
    with open(out) as f:
        return json.load(f)


def settle_and_randomise(torch, model, generator):
    """The parity tests' recipe (torchvision_reference.py): BatchNorm statistics from one training batch, then perturbed."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]

    def uniform(n, low, high):
        return torch.rand(n, generator=generator) * (high - low) + low

    with torch.no_grad():
        for norm in norms:
            norm.momentum = 1.0
        model.train()
        model(torch.randn(4, 3, 64, 64, generator=generator))
        for norm in norms:
            norm.momentum = 0.1
            n = norm.num_features
            norm.weight.copy_(uniform(n, 0.75, 1.25))
            norm.bias.copy_(uniform(n, -0.1, 0.1))
            norm.running_mean.add_(uniform(n, -0.05, 0.05))
            norm.running_var.mul_(uniform(n, 0.8, 1.25))
    model.eval()


def build(torchvision, name):
    factory = {"resnet50": torchvision.models.resnet50, "densenet201": torchvision.models.densenet201,
               "shufflenet_v2": torchvision.models.shufflenet_v2_x1_0}[name]
    return factory(weights=None, num_classes=len(CLASSES))


def head(model, name):
    return model.classifier if name == "densenet201" else model.fc


def normalise(torch, planes):
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (planes - mean) / std


def to_bytes(tensor):
    """Raw little-endian float32; through numpy where it is installed (torch does not require it), else the slow way."""
    tensor = tensor.detach().cpu().contiguous().float()
    try:
        return tensor.numpy().tobytes()
    except (RuntimeError, ImportError):
        return array.array("f", tensor.flatten().tolist()).tobytes()


def write_f32(path, tensor):
    with open(path, "wb") as f:
        f.write(to_bytes(tensor))


def read_f32(torch, path, columns):
    with open(path, "rb") as f:
        data = f.read()
    return torch.tensor(array.array("f", data), dtype=torch.float32).view(-1, columns)


def make_models(torch, torchvision, work, networks, sizes, seed):
    """Model folders as `particlegrid train` writes them, and the test images; returns {network: model} on the CPU."""
    generator = torch.Generator().manual_seed(seed)
    inputs = os.path.join(work, "inputs")
    os.makedirs(inputs, exist_ok=True)
    for size in sizes:
        planes = torch.rand(PARITY_IMAGES, 3, size, size, generator=generator)
        write_f32(os.path.join(inputs, f"input-{size}.f32"), planes)
    calibration = normalise(torch, torch.rand(PARITY_IMAGES, 3, 64, 64, generator=generator))
    models = {}
    for name in networks:
        torch.manual_seed(seed)
        model = build(torchvision, name)
        settle_and_randomise(torch, model, generator)
        with torch.no_grad():
            logits = model(calibration)
            scale = 1.5 / max(float(logits.std()), 1e-6)
            head(model, name).weight.mul_(scale)
            head(model, name).bias.mul_(scale)
        folder = os.path.join(work, "models", name)
        os.makedirs(folder, exist_ok=True)
        weights = os.path.join(folder, "weights.pth")
        torch.save(model.state_dict(), weights)
        with open(weights, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        # The fields ModelDirectory.ReadManifest checks; the training record is left out (nothing was trained).
        manifest = {"format": "particlegrid-model/1", "architecture": name, "classes": CLASSES, "inputSize": sizes[0],
                    "normalization": {"mean": MEAN, "std": STD}, "weightsFile": "weights.pth", "weightsSha256": sha,
                    "createdUtc": "2026-01-01T00:00:00+00:00"}
        with open(os.path.join(folder, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
        index, offset = [], 0
        with open(os.path.join(folder, "weights.bin"), "wb") as f:
            for key, tensor in model.state_dict().items():
                if tensor.dtype != torch.float32:
                    continue   # num_batches_tracked: not a weight (NetworkWeights.Of leaves it out too)
                f.write(to_bytes(tensor))
                index.append({"key": key, "shape": list(tensor.shape), "offset": offset})
                offset += tensor.numel()
        with open(os.path.join(folder, "weights.json"), "w") as f:
            json.dump(index, f)
        models[name] = model
    return models


def reference(torch, models, work, sizes, device):
    """torchvision's probabilities for the test images: {(network, size): [N, classes]}, plus the ensemble's mean."""
    result = {}
    for size in sizes:
        planes = read_f32(torch, os.path.join(work, "inputs", f"input-{size}.f32"), 3 * size * size).view(-1, 3, size, size)
        x = normalise(torch, planes).to(device)
        rows = []
        for name, model in models.items():
            model.to(device).eval()
            with torch.no_grad():
                p = torch.softmax(model(x), dim=1).cpu()
            result[(name, size)] = p
            rows.append(p)
            model.cpu()
        result[("ensemble", size)] = torch.stack(rows).mean(dim=0)
    return result


def compare(torch, references, work, route_report, route):
    """Each file the route wrote against torchvision's probabilities: max |dp|, argmax agreement, pass/fail."""
    checks = []
    for stem in route_report.get("parity_files", []):
        # ROUTE-NETWORK-SIZE, NETWORK may hold an underscore but no dash
        _, network, size = stem.split("-")
        expected = references[(network, int(size))]
        actual = read_f32(torch, os.path.join(work, "results", stem + ".f32"), expected.shape[1])
        if actual.shape != expected.shape:
            checks.append({"route": route, "network": network, "size": int(size), "pass": False,
                           "error": f"shape {list(actual.shape)} vs {list(expected.shape)}"})
            continue
        difference = float((actual - expected).abs().max())
        same_argmax = bool((actual.argmax(dim=1) == expected.argmax(dim=1)).all())
        checks.append({"route": route, "network": network, "size": int(size), "max_abs_difference": difference,
                       "same_argmax": same_argmax, "max_probability": float(expected.max(dim=1).values.min()),
                       "pass": difference <= TOLERANCE and same_argmax})
    return checks


class GpuMemoryPoll:
    """The GPU's used memory from nvidia-smi every half second while a child process runs: its peak, in MiB."""

    def __init__(self):
        self.peak = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True) if shutil.which("nvidia-smi") else None

    def _run(self):
        while not self._stop.is_set():
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                     capture_output=True, text=True, timeout=5).stdout.split()
                used = max(int(v) for v in out) if out else None
                if used is not None:
                    self.peak = max(self.peak or 0, used)
            except (OSError, subprocess.SubprocessError, ValueError):
                pass
            self._stop.wait(0.5)

    def __enter__(self):
        if self._thread:
            self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=6)


def run_route(app, route, work, args, extra, env_extra, timeout):
    """Runs the check program for one route; its JSON report, with how the process ended."""
    report_path = os.path.join(work, f"{route}.json")
    if os.path.exists(report_path):
        os.remove(report_path)
    command = app_command(app) + [route, "--work", work, "--sizes", ",".join(map(str, args.sizes)),
                                  "--seconds", str(args.seconds), "--report", report_path] + extra
    env = dict(os.environ, **env_extra)
    log(f"route {route}: {' '.join(command)} (timeout {timeout:.0f} s)")
    started = time.monotonic()
    with GpuMemoryPoll() as memory:
        try:
            run = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
            code, stdout, stderr = run.returncode, run.stdout, run.stderr
        except subprocess.TimeoutExpired as e:
            code, stdout, stderr = "timeout", e.stdout or "", e.stderr or ""
            stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
            stderr = stderr.decode() if isinstance(stderr, bytes) else stderr
    report = {}
    if os.path.exists(report_path):
        with open(report_path) as f:
            report = json.load(f)
    ended = ("timed out" if code == "timeout" else
             f"killed by {signal.Signals(-code).name}" if isinstance(code, int) and code < 0 else f"exit code {code}")
    report.update(exit=ended, wall_s=round(time.monotonic() - started, 1), stderr_tail=tail(stderr), stdout_tail=tail(stdout, 10),
                  gpu_memory_used_peak_mib=memory.peak)
    log(f"route {route}: {ended} after {report['wall_s']} s" + (f"; error: {report['error']}" if report.get("error") else ""))
    return report


def pytorch_timings(torch, models, sizes, batches, device, seconds, deadline):
    """torchvision's own images/s on the same device: the figures the product's engine is read against."""
    rows = []
    variants = ["eager_fp32"] + (["eager_fp16", "channels_last_fp16", "cuda_graph_channels_last_fp16"] if device == "cuda" else [])
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def measure(step, images):
        step()
        sync()
        passes, start = 0, time.perf_counter()
        while passes < 2 or time.perf_counter() - start < seconds:
            step()
            passes += 1
        sync()
        return round(images * passes / (time.perf_counter() - start), 2)

    for name, model in models.items():
        for size in sizes:
            for variant in variants:
                for batch in batches:
                    row = {"network": name, "size": size, "batch": batch, "variant": variant}
                    rows.append(row)
                    if time.monotonic() > deadline:
                        row["skipped"] = "time budget spent"
                        break
                    try:
                        half = variant != "eager_fp32"
                        layout = torch.channels_last if "channels_last" in variant else torch.contiguous_format
                        m = model.to(device)
                        m = (m.half() if half else m.float()).to(memory_format=layout).eval()
                        x = torch.rand(batch, 3, size, size, device=device, dtype=torch.float16 if half else torch.float32)
                        x = x.contiguous(memory_format=layout)
                        if device == "cuda":
                            torch.cuda.reset_peak_memory_stats()
                        with torch.inference_mode():
                            if variant.startswith("cuda_graph"):
                                stream = torch.cuda.Stream()
                                stream.wait_stream(torch.cuda.current_stream())
                                with torch.cuda.stream(stream):
                                    for _ in range(3):
                                        torch.softmax(m(x), dim=1)
                                torch.cuda.current_stream().wait_stream(stream)
                                graph = torch.cuda.CUDAGraph()
                                with torch.cuda.graph(graph):
                                    torch.softmax(m(x), dim=1)
                                row["images_per_s"] = measure(graph.replay, batch)
                                del graph
                            else:
                                row["images_per_s"] = measure(lambda: torch.softmax(m(x), dim=1), batch)
                        if device == "cuda":
                            row["peak_allocated_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
                    except Exception as e:   # noqa: BLE001 - out of memory and anything else end this series only
                        row["out_of_memory" if "out of memory" in str(e).lower() else "error"] = str(e).splitlines()[0][:300]
                        if device == "cuda":
                            torch.cuda.empty_cache()
                        break
            model.float().cpu().to(memory_format=torch.contiguous_format)
            if device == "cuda":
                torch.cuda.empty_cache()
    return rows


def python_onnxruntime(torch, work, graphs, sizes, references, deadline):
    """The product's graphs in this Python's onnxruntime, with each provider it offers: parity only."""
    try:
        import onnxruntime
    except ImportError as e:
        return {"error": f"onnxruntime missing: {e}"}
    providers = onnxruntime.get_available_providers()
    result = {"providers": providers, "cuda_provider": "CUDAExecutionProvider" in providers, "checks": []}
    for provider in [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in providers]:
        for relative in graphs:
            if time.monotonic() > deadline:
                result["checks"].append({"provider": provider, "graph": relative, "pass": False, "skipped": "time budget spent"})
                continue
            network, size = os.path.basename(relative)[:-len(".onnx")].rsplit("-", 1)
            size = int(size)
            planes = read_f32(torch, os.path.join(work, "inputs", f"input-{size}.f32"), 3 * size * size).view(-1, 3, size, size)
            try:
                session = onnxruntime.InferenceSession(os.path.join(work, relative), providers=[provider])
                logits = session.run(["logits"], {"images": normalise(torch, planes).numpy()})[0]
                p = torch.softmax(torch.from_numpy(logits), dim=1)
                difference = float((p - references[(network, size)]).abs().max())
                result["checks"].append({"provider": provider, "network": network, "size": size, "max_abs_difference": difference,
                                         "pass": difference <= TOLERANCE, "providers_used": session.get_providers()})
            except Exception as e:   # noqa: BLE001
                result["checks"].append({"provider": provider, "network": network, "size": size, "pass": False, "error": str(e)[:300]})
    return result


# ------------------------------------------------------------------------------------------------------------ main

def summary(result):
    lines = ["", "== ParticleGrid GPU check: summary"]
    env = result.get("environment", {})
    lines.append(f"device: {env.get('gpu', env.get('device'))}  torch {env.get('torch')}  CUDA {env.get('cuda')}  "
                 f"cuDNN {env.get('cudnn')}  onnxruntime {env.get('onnxruntime')} {env.get('onnxruntime_providers')}")
    b = result.get("binding", {})
    lines.append(f"binding: libLibTorchSharp.so (TorchSharp 0.107, libtorch 2.10) on {b.get('lib_dir')}: "
                 f"{b.get('missing_symbols')} of {b.get('imported_symbols')} symbols missing; dlopen "
                 f"{'ok' if b.get('dlopen', {}).get('ok') else b.get('dlopen', {}).get('error')}; binds: {b.get('binds')}")
    for route in ("torchsharp", "onnx"):
        r = result.get("routes", {}).get(route)
        if r is None:
            continue
        lines.append(f"route {route}: {r.get('exit')}" + (f", error: {r['error']}" if r.get("error") else "")
                     + (f", bound: {r.get('binding', {}).get('bound')}, CUDA: {r.get('binding', {}).get('cuda_available')}" if route == "torchsharp" else ""))
    for check in result.get("parity", []):
        lines.append(f"  parity {check['route']:10} {check['network']:13} {check['size']:4} px: max |dp| "
                     f"{check.get('max_abs_difference', float('nan')):.2e}  same argmax {check.get('same_argmax')}  "
                     f"{'PASS' if check['pass'] else 'FAIL'}")
    ort = result.get("python_onnxruntime", {})
    if ort:
        lines.append(f"python onnxruntime providers: {ort.get('providers')}; CUDA provider: {ort.get('cuda_provider')}; "
                     f"graphs passing: {sum(c['pass'] for c in ort.get('checks', []))} of {len(ort.get('checks', []))}")
    ours = {}
    for route in ("torchsharp", "onnx"):
        for t in result.get("routes", {}).get(route, {}).get("timings", []):
            if "images_per_s" in t:
                ours[(route, t["network"], t["size"], t["batch"], t["what"], t["precision"])] = t["images_per_s"]
    theirs = {(t["network"], t["size"], t["batch"], t["variant"]): t["images_per_s"] for t in result.get("pytorch", []) if "images_per_s" in t}
    keys = sorted({k[1:4] for k in ours} | {k[:3] for k in theirs}, key=lambda k: (k[0], k[1], k[2]))
    if keys:
        lines.append("images/s        network       px  batch | ts engine fp32  ts module fp32  ts module fp16 | torch fp32  fp16  "
                     "ch-last fp16  graph fp16 | onnx cpu")
        for network, size, batch in keys:
            def o(route, what, precision):
                v = ours.get((route, network, size, batch, what, precision))
                return f"{v:.0f}" if v is not None else "-"

            def t(variant):
                v = theirs.get((network, size, batch, variant))
                return f"{v:.0f}" if v is not None else "-"
            lines.append(f"                {network:13} {size:4} {batch:5} | {o('torchsharp', 'engine', 'float32'):>14}  "
                         f"{o('torchsharp', 'module', 'float32'):>14}  {o('torchsharp', 'module', 'float16'):>14} | "
                         f"{t('eager_fp32'):>10}  {t('eager_fp16'):>4}  {t('channels_last_fp16'):>12}  "
                         f"{t('cuda_graph_channels_last_fp16'):>10} | {o('onnx', 'engine', 'float32'):>8}")
    lines.append(f"verdict: {result.get('verdict')}")
    lines.append(f"total {result.get('seconds')} s; JSON: {result.get('json')}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pack", help="the folder pack.sh wrote (bench/gpu/pack): unpacked into WORK/app")
    where.add_argument("--app", help="a folder with the check program already there (a plain build: CI)")
    parser.add_argument("--out", default=os.environ.get("OUT", "/tmp/particlegrid-gpu-check-out"), help="where gpu-check.json and the log go")
    parser.add_argument("--work", default="/tmp/particlegrid-gpu-check", help="scratch folder (weights, graphs; not copied back)")
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    parser.add_argument("--torch-lib", help="the libtorch to bind TorchSharp to (default: this Python's torch/lib)")
    parser.add_argument("--networks", default=",".join(NETWORKS))
    parser.add_argument("--sizes", default="64,224")
    parser.add_argument("--batches", default="1,16,64,256,1024", help="TorchSharp and PyTorch batch sizes (larger ones stop at out of memory)")
    parser.add_argument("--onnx-batches", default="16,64", help="batch sizes for the ONNX Runtime engine on the CPU")
    parser.add_argument("--seconds", type=float, default=0.2, help="timed seconds per measurement (after a warm-up pass)")
    parser.add_argument("--budget-s", type=float, default=360,
                        help="the whole check ends within this (a device call may run 600 s; 360 leaves device time for a shorter rerun)")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--skip", default="", help="comma-separated steps to leave out: torchsharp, pytorch, onnx")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    networks = [n for n in args.networks.split(",") if n]
    skip = set(filter(None, args.skip.split(",")))
    deadline = START + args.budget_s
    os.makedirs(args.out, exist_ok=True)
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    result = {"check": "particlegrid-gpu-check/1", "args": vars(args), "steps": {}}
    json_path = os.path.join(args.out, "gpu-check.json")
    result["json"] = json_path

    def step(name, function, *a):
        log(f"== {name}")
        started = time.monotonic()
        try:
            value = function(*a)
            result["steps"][name] = {"ok": True, "seconds": round(time.monotonic() - started, 1)}
            return value
        except Exception as e:   # noqa: BLE001 - record, and go on with what can still run
            result["steps"][name] = {"ok": False, "seconds": round(time.monotonic() - started, 1), "error": f"{type(e).__name__}: {e}"}
            log(f"{name} failed: {type(e).__name__}: {e}")
            return None

    def remaining(reserve=20):
        return max(10.0, deadline - time.monotonic() - reserve)

    import torch
    import torchvision
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        torch.set_num_threads(1)   # CI: a shared CPU, where spinning OpenMP threads stall when another process runs
    if device == "cuda":
        # The parity is held to float32: TF32 would round convolution inputs to 10 mantissa bits.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    torch_lib = args.torch_lib or os.path.join(os.path.dirname(torch.__file__), "lib")
    result["environment"] = step("environment", environment, torch, device) or {}
    result["environment"]["torch_lib"] = torch_lib
    app = step("unpack", unpack, args.pack, args.work) if args.pack else args.app
    result["binding"] = (step("binding", check_binding, app, torch_lib, args.work) if app else None) or {}
    models = step("weights", make_models, torch, torchvision, args.work, networks, args.sizes, args.seed) or {}
    references = step("reference", reference, torch, models, args.work, args.sizes, device) or {}
    result["routes"], result["parity"] = {}, []
    if device == "cuda":
        torch.cuda.empty_cache()

    if app and models and "torchsharp" not in skip:
        # Run even when symbols are missing: what TorchSharp itself says then is the evidence. libtorch comes from
        # --torch-lib (the program loads it by path first); LD_LIBRARY_PATH covers what those libraries load by name.
        env = {"LD_LIBRARY_PATH": os.pathsep.join(filter(None, [torch_lib, os.environ.get("LD_LIBRARY_PATH")])),
               "NVIDIA_TF32_OVERRIDE": "0", "DOTNET_gcServer": "0"}
        budget = min(170.0, remaining(130 if device == "cuda" else 20))
        route = step("torchsharp", run_route, app, "torchsharp", args.work, args,
                     ["--device", device, "--torch-lib", torch_lib, "--batches", args.batches, "--budget-s", str(int(budget * 0.75)),
                      "--threads", "1" if device == "cpu" else "0"],
                     env, budget)
        if route is not None:
            result["routes"]["torchsharp"] = route
            result["parity"] += compare(torch, references, args.work, route, "torchsharp") if references else []

    if models and "pytorch" not in skip:
        budget = min(110.0, remaining(50 if app else 20))
        result["pytorch"] = step("pytorch", pytorch_timings, torch, models, args.sizes,
                                 [int(b) for b in args.batches.split(",")], device, args.seconds, time.monotonic() + budget) or []

    if app and models and "onnx" not in skip:
        budget = min(90.0, remaining(20))
        route = step("onnx", run_route, app, "onnx", args.work, args,
                     ["--threads", str(os.cpu_count() or 1), "--batches", args.onnx_batches, "--budget-s", str(int(budget * 0.6))],
                     {"DOTNET_gcServer": "0"}, budget)
        if route is not None:
            result["routes"]["onnx"] = route
            result["parity"] += compare(torch, references, args.work, route, "onnx") if references else []
            if route.get("graphs") and references:
                result["python_onnxruntime"] = step("python_onnxruntime", python_onnxruntime, torch, args.work,
                                                    route["graphs"], args.sizes, references, deadline - 5)

    torchsharp_parity = [c for c in result["parity"] if c["route"] == "torchsharp"]
    if torchsharp_parity and all(c["pass"] for c in torchsharp_parity):
        result["verdict"] = f"TorchSharp route bound on {device} and matches torchvision within {TOLERANCE:g}"
    elif result["routes"].get("torchsharp", {}).get("binding", {}).get("bound"):
        result["verdict"] = f"TorchSharp route bound on {device}, parity FAILED"
    else:
        onnx_parity = [c for c in result["parity"] if c["route"] == "onnx"]
        result["verdict"] = ("TorchSharp route did not bind; " +
                             ("ONNX route (CPU) matches torchvision" if onnx_parity and all(c["pass"] for c in onnx_parity) else "ONNX route failed too"))
    result["seconds"] = round(elapsed(), 1)
    with open(json_path, "w") as f:
        json.dump(result, f, indent=2, default=str)
    text = summary(result)
    print(text, flush=True)
    with open(os.path.join(args.out, "gpu-check.log"), "w") as f:
        f.write("\n".join(LOG) + "\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
