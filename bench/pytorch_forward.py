#!/usr/bin/python3
"""The PyTorch reference for `particlegrid bench`: forward-pass throughput of the three networks in Debian's PyTorch.

    /usr/bin/python3 bench/pytorch_forward.py --threads 2 --sizes 64,128,224 --batches 1,16,64 --images 64 \
        [--networks resnet50,densenet201,shufflenet_v2] [--no-memory] --json pytorch.json

For each network (torchvision's resnet50, densenet201 and shufflenet_v2_x1_0 with num_classes=4, random weights,
BatchNorm statistics drawn at random too, eval mode), input size and batch size, with torch.set_num_threads(--threads) and under torch.inference_mode():

  eager          the model as torchvision builds it, NCHW input.
  channels_last  model and input in torch.channels_last; the input is converted inside the timed loop, because the
                 C# side hands over NCHW planes and would have to pay for that copy too.
  folded         every BatchNorm2d that directly follows a Conv2d (and is that convolution's only user) folded into
                 it (torch.fx.experimental.optimization.fuse's pass on a torch.fx graph, fuse_conv_bn_eval). ResNet50 and
                 ShuffleNetV2 fold every BN. DenseNet201 is pre-activation (BN -> ReLU -> conv): only the stem's
                 norm0 and each dense layer's norm2 (after conv1) follow a convolution; norm1 of each layer, the
                 transitions' norm and norm5 follow a concatenation or a pooling and stay as they are. The JSON's
                 "folding" gives the counts per network.

Each variant: one warm-up batch, then ceil(images / batch) full batches of random input [batch, 3, size, size],
each followed by softmax; images/s = batches * batch / seconds. "best" is the fastest of the three variants.
The same random input tensor serves every batch of a (size, batch): values do not change the speed of these ops.

peak_rss_mib: resource.getrusage(RUSAGE_SELF).ru_maxrss of a fresh `python3 thisfile --one NETWORK SIZE BATCH`
process that imports torch, builds the network (eager, eval) and runs two eager forward passes of one batch, so
the peaks of different networks and sizes do not mix. These probes run before the main process imports torch
(Linux carries a parent's peak into its children's ru_maxrss). It includes the interpreter and torch itself (about
150-200 MiB before any network is built). --no-memory skips it (null in the JSON).

Output: a table on stdout and, with --json, {"torch", "threads", "images", "results": [{"network", "size",
"batch", "eager_ips", "channels_last_ips", "folded_ips", "best_ips", "best_variant", "peak_rss_mib"}],
"folding": {network: {"bn_total", "bn_folded", "note", "max_relative_difference"}}} (folded vs eager logits,
checked on a probe batch; the run stops if they differ by more than 1e-3).

Runtime on the 2-core development machine (AMD EPYC, 2 cores), --threads 2 --images 64, 2026-11-26, nothing else
running (figures in bench/README.md):
  --sizes 64 --batches 16                  12 s measured (the three networks, memory probes included)
  --sizes 64,128 --batches 1,16            about 3 min measured (172 s)
  --sizes 224 --batches 16,64              about 2 min measured without the memory probes (125 s), about 3 min with
  --sizes 64,128,224 --batches 1,16,64     about 11 min, estimated from those runs: the 64/128 px rows at batch 64
      add about 1 min; the 224 px batch-1 rows add about 4 min, DenseNet201 alone about 3 (batch 1 is slow in
      PyTorch 1.13, see below).
Anything else running on the two cores makes the figures meaningless, not just slower: two OpenMP threads that
spin-wait for each other lose their core (ShuffleNetV2 at 224 px fell from 289 to 13 images/s during a test run).

Batch 1: PyTorch 1.13 sends an ungrouped convolution with a kernel of 3x3 or smaller and an input of at most
20,480 values at batch 1 to its im2col path (aten::_slow_conv2d_forward, parallel over the batch only) instead of
oneDNN, and Debian's python3-torch links the reference BLAS (libblas3) for it, so it runs on one core: ResNet50 at
64 px takes about 145 ms an image at batch 1 against about 5 ms an image at batch 16 (torch.profiler: 94 % of the
batch-1 time in that path). With OpenBLAS in its place (libopenblas0-pthread) it is about 55 ms, and with
torch.utils.mkldnn.to_mkldnn(model) about 15 ms, but that conversion fails for DenseNet201 and ShuffleNetV2 in 1.13,
so it is not one of the variants here.
"""

import argparse
import copy
import json
import math
import os
import resource
import subprocess
import sys
import time

NETWORKS = ("resnet50", "densenet201", "shufflenet_v2")
VARIANTS = ("eager", "channels_last", "folded")
CLASSES = 4


def build(network):
    """The torchvision model of that name, four classes, random weights, eval mode."""
    import torchvision

    constructors = {
        "resnet50": torchvision.models.resnet50,
        "densenet201": torchvision.models.densenet201,
        "shufflenet_v2": torchvision.models.shufflenet_v2_x1_0,
    }
    if network not in constructors:
        raise SystemExit(f"unknown network {network!r}; expected one of {', '.join(NETWORKS)}")
    model = constructors[network](num_classes=CLASSES).eval()
    # torchvision leaves every BatchNorm at identity (mean 0, var 1, weight 1, bias 0); draw them too, so that folding
    # really changes the weights and the folded-vs-eager check below means something. Speed does not depend on them.
    import torch

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    return model


def fold_batchnorm(model):
    """A copy of the eval-mode model with each Conv2d -> BatchNorm2d pair folded; returns (model, bn_total, bn_folded).

    torch.fx.experimental.optimization.fuse's conv-bn pass (fuse_conv_bn_eval on a torch.fx graph), with one
    change: ShuffleNetV2's blocks unpack x.size() and x.chunk(), which torch.fx cannot trace, so each block
    (InvertedResidual) is kept as a leaf of the outer graph and its two branches, plain Sequentials, are traced
    and folded on their own.
    """
    import torch
    from torchvision.models.shufflenetv2 import InvertedResidual

    model = copy.deepcopy(model).eval()
    bn_total = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    blocks = [m for m in model.modules() if isinstance(m, InvertedResidual)]
    bn_folded = 0
    for block in blocks:
        for name in ("branch1", "branch2"):
            folded_branch, count = _fold_graph(getattr(block, name), ())
            setattr(block, name, folded_branch)
            bn_folded += count
    folded, count = _fold_graph(model, (InvertedResidual,))
    return folded.eval(), bn_total, bn_folded + count


def _fold_graph(module, leaves):
    """Traces `module` (classes in `leaves` as opaque calls) and folds every BN fed only by a Conv2d; (GraphModule, count)."""
    import torch
    import torch.fx as fx
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    class Tracer(fx.Tracer):
        def is_leaf_module(self, m, qualified_name):
            return isinstance(m, leaves) or super().is_leaf_module(m, qualified_name)

    graph = Tracer().trace(module)
    modules = dict(module.named_modules())
    count = 0
    for node in list(graph.nodes):
        if node.op != "call_module" or type(modules.get(node.target)) is not torch.nn.BatchNorm2d or not node.args:
            continue
        source = node.args[0]
        if not isinstance(source, fx.Node) or source.op != "call_module" or type(modules.get(source.target)) is not torch.nn.Conv2d:
            continue  # a pre-activation BN (after a concatenation, a pooling or the input) has no convolution to go into
        if len(source.users) > 1 or not modules[node.target].track_running_stats:
            continue  # the convolution's raw output is used elsewhere too
        fused = fuse_conv_bn_eval(modules[source.target], modules[node.target])
        parent, _, name = source.target.rpartition(".")
        setattr(modules[parent] if parent else module, name, fused)
        modules[source.target] = fused
        node.replace_all_uses_with(source)
        graph.erase_node(node)
        count += 1
    return fx.GraphModule(module, graph), count


def forward_seconds(torch, model, x, batches, channels_last):
    """Seconds for `batches` forward passes (+ softmax) after one warm-up pass."""

    def once():
        inputs = x.contiguous(memory_format=torch.channels_last) if channels_last else x
        return torch.softmax(model(inputs), dim=1)

    once()  # warm-up: oneDNN primitives, allocator
    start = time.perf_counter()
    for _ in range(batches):
        once()
    return time.perf_counter() - start


def measure_memory(network, size, batch, threads):
    """Peak RSS (MiB) of a fresh process running this network eagerly at this size and batch; None if it failed."""
    command = [sys.executable, os.path.abspath(__file__), "--one", network, str(size), str(batch), "--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  memory probe failed for {network} {size}px batch {batch}: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])["peak_rss_mib"]


def one(network, size, batch, threads):
    """The --one mode: build, run two eager batches, print the peak RSS as JSON."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build(network)
    with torch.inference_mode():
        x = torch.rand(batch, 3, size, size)
        for _ in range(2):
            torch.softmax(model(x), dim=1)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"network": network, "size": size, "batch": batch, "peak_rss_mib": round(peak_kib / 1024, 1)}))


def numbers(text, name):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SystemExit(f"--{name} takes comma-separated integers, not {text!r}")
    if not values or any(v < 1 for v in values):
        raise SystemExit(f"--{name} needs at least one positive integer")
    return values


def table(rows):
    head = f"{'network':<15}{'size':>5}{'batch':>6}{'eager':>10}{'ch_last':>10}{'folded':>10}{'best':>10}  {'(variant)':<15}{'peak RSS':>10}"
    lines = [head, "-" * len(head)]
    for r in rows:
        rss = "n/a" if r["peak_rss_mib"] is None else f"{r['peak_rss_mib']:.0f} MiB"
        lines.append(
            f"{r['network']:<15}{r['size']:>5}{r['batch']:>6}{r['eager_ips']:>10.1f}{r['channels_last_ips']:>10.1f}"
            f"{r['folded_ips']:>10.1f}{r['best_ips']:>10.1f}  {'(' + r['best_variant'] + ')':<15}{rss:>10}"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch.set_num_threads (default: all cores)")
    parser.add_argument("--sizes", default="64,128,224", help="input sides in pixels, comma-separated")
    parser.add_argument("--batches", default="1,16,64", help="batch sizes, comma-separated")
    parser.add_argument("--images", type=int, default=64, help="images timed per variant (rounded up to whole batches)")
    parser.add_argument("--networks", default=",".join(NETWORKS), help="comma-separated subset of " + ",".join(NETWORKS))
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS subprocesses")
    parser.add_argument("--one", nargs=3, metavar=("NETWORK", "SIZE", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads < 1:
        raise SystemExit("--threads must be at least 1")

    if args.one:
        network, size, batch = args.one
        one(network, int(size), int(batch), args.threads)
        return

    sizes, batches = numbers(args.sizes, "sizes"), numbers(args.batches, "batches")
    if args.images < 1:
        raise SystemExit("--images must be at least 1")
    started = time.perf_counter()
    networks = [n.strip() for n in args.networks.split(",") if n.strip()]
    unknown = [n for n in networks if n not in NETWORKS]
    if unknown or not networks:
        raise SystemExit(f"unknown network(s) {unknown}; expected a subset of {','.join(NETWORKS)}")

    # The memory probes run first, before this process imports torch: on Linux a child's ru_maxrss starts from its
    # parent's peak (the kernel carries the high-water mark across fork and exec), so a parent that has already run
    # the networks would hand every probe its own peak.
    memory = {}
    if not args.no_memory:
        for network in networks:
            for size in sizes:
                for batch in batches:
                    memory[network, size, batch] = measure_memory(network, size, batch, args.threads)
                    peak = memory[network, size, batch]
                    print(f"  peak RSS {network} {size}px batch {batch}: {'failed' if peak is None else f'{peak} MiB'}", flush=True)

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.images} images per variant", flush=True)

    results, folding = [], {}
    for network in networks:
        eager = build(network)
        folded, bn_total, bn_folded = fold_batchnorm(eager)
        channels_last = copy.deepcopy(eager).to(memory_format=torch.channels_last)
        folding[network] = {
            "bn_total": bn_total,
            "bn_folded": bn_folded,
            "note": "every BatchNorm follows a convolution and is folded" if bn_folded == bn_total else
            "pre-activation network: only a BatchNorm directly after a convolution is folded; the rest "
            "(after a concatenation or pooling) stay",
        }
        with torch.inference_mode():  # the folded graph must compute what the eager one does
            probe = torch.rand(2, 3, sizes[0], sizes[0])
            reference = eager(probe)
            difference = (folded(probe) - reference).abs().max().item() / max(reference.abs().max().item(), 1e-12)
        folding[network]["max_relative_difference"] = difference
        if not difference <= 1e-3:  # NaN fails too
            raise SystemExit(f"{network}: the folded model's logits differ from eager by {difference:.2g} (relative)")
        print(f"{network}: folded {bn_folded} of {bn_total} BatchNorm2d into the preceding Conv2d "
              f"(logits match eager within {difference:.1g} relative)", flush=True)
        models = {"eager": eager, "channels_last": channels_last, "folded": folded}
        for size in sizes:
            for batch in batches:
                count = math.ceil(args.images / batch)
                x = torch.rand(batch, 3, size, size)
                ips = {}
                with torch.inference_mode():
                    for variant in VARIANTS:
                        seconds = forward_seconds(torch, models[variant], x, count, variant == "channels_last")
                        ips[variant] = count * batch / seconds
                best = max(VARIANTS, key=lambda v: ips[v])
                row = {
                    "network": network,
                    "size": size,
                    "batch": batch,
                    "eager_ips": round(ips["eager"], 2),
                    "channels_last_ips": round(ips["channels_last"], 2),
                    "folded_ips": round(ips["folded"], 2),
                    "best_ips": round(ips[best], 2),
                    "best_variant": best,
                    "peak_rss_mib": memory.get((network, size, batch)),
                }
                results.append(row)
                print(f"  {network} {size}px batch {batch}: eager {row['eager_ips']:.1f}, channels_last "
                      f"{row['channels_last_ips']:.1f}, folded {row['folded_ips']:.1f} images/s", flush=True)
        del eager, folded, channels_last, models

    print()
    print(table(results))
    for network, f in folding.items():
        print(f"{network}: {f['bn_folded']}/{f['bn_total']} BatchNorm folded. {f['note']}.")
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.json:
        report = {"torch": torch.__version__, "threads": args.threads, "images": args.images, "results": results, "folding": folding}
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
            out.write("\n")


if __name__ == "__main__":
    main()
