"""The PyTorch side of ParticleGrid's parity tests: torchvision's own networks, to hold the C# ones against.

Run by the xunit tests with Debian's /usr/bin/python3 (python3-torch, python3-torchvision); no network access.

  layout --classes N --seed SEED
      Prints JSON {architecture: [[key, shape, dtype, mean, std], ...]}: each network's state_dict as torchvision
      builds and initialises it after torch.manual_seed(SEED), in state_dict order, with each tensor's mean and
      (population) standard deviation.

  parity --architecture A --classes N --batch B --sizes S [S ...] --seed SEED --directory DIR
      1. Loads DIR/csharp.pth (saved by the C# side) STRICTLY into torchvision's network and, in eval mode, writes
         its logits and softmax probabilities for each DIR/input-S.f32 to
         DIR/torchvision-on-csharp-weights-{logits,probabilities}-S.f32.
      2. Builds torchvision's network with its own seeded random init and batch-norm statistics, saves the
         state_dict to DIR/torchvision.pth and writes its outputs to
         DIR/torchvision-on-torchvision-weights-{logits,probabilities}-S.f32.
      Inputs and outputs are raw little-endian float32, row-major: inputs [B, 3, S, S], outputs [B, N].

Exits with status 3 and a message naming the Debian packages when torch or torchvision is missing.
"""
import argparse
import json
import os
import struct
import sys

try:
    import torch
    import torchvision
    from torch import nn
except ImportError as missing:
    print(f"PyTorch reference unavailable ({missing}): install python3-torch python3-torchvision (apt)", file=sys.stderr)
    sys.exit(3)

ARCHITECTURES = {
    "resnet50": torchvision.models.resnet50,
    "densenet201": torchvision.models.densenet201,
    "shufflenet_v2": torchvision.models.shufflenet_v2_x1_0,
}


def build(architecture, classes):
    return ARCHITECTURES[architecture](weights=None, num_classes=classes)


def layout(classes, seed):
    def describe(key, tensor):
        values = tensor.double()
        return [key, list(tensor.shape), str(tensor.dtype).removeprefix("torch."),
                values.mean().item(), values.std(unbiased=False).item()]

    layouts = {}
    for architecture in ARCHITECTURES:
        torch.manual_seed(seed)
        layouts[architecture] = [describe(key, tensor) for key, tensor in build(architecture, classes).state_dict().items()]
    return layouts


def settle_and_randomise_batch_norms(model, generator):
    """Same recipe as the C# side's BatchNormStatistics: running statistics from one training-mode batch
    (momentum 1), so activations stay well scaled through the depth, then seeded perturbations of every
    statistic and affine parameter so nothing is at a default value. (The same seed does not give the same
    values: TorchSharp lists a network's modules in another order.)"""
    batch_norms = [module for module in model.modules() if isinstance(module, nn.BatchNorm2d)]
    with torch.no_grad():
        for batch_norm in batch_norms:
            batch_norm.momentum = 1.0
        model.train()
        model(torch.randn(4, 3, 64, 64, generator=generator))
        for batch_norm in batch_norms:
            batch_norm.momentum = 0.1
            features = batch_norm.num_features
            batch_norm.weight.copy_(uniform(features, 0.75, 1.25, generator))
            batch_norm.bias.copy_(uniform(features, -0.1, 0.1, generator))
            batch_norm.running_mean.add_(uniform(features, -0.05, 0.05, generator))
            batch_norm.running_var.mul_(uniform(features, 0.8, 1.25, generator))
            batch_norm.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=generator)))
    model.eval()


def uniform(count, low, high, generator):
    return torch.rand(count, generator=generator) * (high - low) + low


def read_input(path, batch, size):
    values = torch.from_file(path, shared=False, size=batch * 3 * size * size, dtype=torch.float32)
    return values.reshape(batch, 3, size, size)


def write_outputs(model, images, directory, stem, size):
    with torch.no_grad():
        logits = model(images)
    write_float32(logits, os.path.join(directory, f"{stem}-logits-{size}.f32"))
    write_float32(torch.softmax(logits, dim=1), os.path.join(directory, f"{stem}-probabilities-{size}.f32"))


def write_float32(tensor, path):
    values = tensor.contiguous().flatten().tolist()
    with open(path, "wb") as output:
        output.write(struct.pack(f"<{len(values)}f", *values))


def parity(args):
    inputs = {size: read_input(os.path.join(args.directory, f"input-{size}.f32"), args.batch, size) for size in args.sizes}

    on_csharp_weights = build(args.architecture, args.classes)
    on_csharp_weights.load_state_dict(torch.load(os.path.join(args.directory, "csharp.pth")), strict=True)
    on_csharp_weights.eval()
    for size, images in inputs.items():
        write_outputs(on_csharp_weights, images, args.directory, "torchvision-on-csharp-weights", size)

    torch.manual_seed(args.seed)
    own = build(args.architecture, args.classes)
    settle_and_randomise_batch_norms(own, torch.Generator().manual_seed(args.seed))
    torch.save(own.state_dict(), os.path.join(args.directory, "torchvision.pth"))
    for size, images in inputs.items():
        write_outputs(own, images, args.directory, "torchvision-on-torchvision-weights", size)

    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")


def main():
    torch.set_num_threads(2)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    layout_command = commands.add_parser("layout")
    layout_command.add_argument("--classes", type=int, required=True)
    layout_command.add_argument("--seed", type=int, required=True)

    parity_command = commands.add_parser("parity")
    parity_command.add_argument("--architecture", choices=sorted(ARCHITECTURES), required=True)
    parity_command.add_argument("--classes", type=int, required=True)
    parity_command.add_argument("--batch", type=int, required=True)
    parity_command.add_argument("--sizes", type=int, nargs="+", required=True)
    parity_command.add_argument("--seed", type=int, required=True)
    parity_command.add_argument("--directory", required=True)

    args = parser.parse_args()
    if args.command == "layout":
        print(json.dumps(layout(args.classes, args.seed)))
    else:
        parity(args)


if __name__ == "__main__":
    main()
