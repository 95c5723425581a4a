#!/usr/bin/python3
"""The ONNX Runtime baseline's graph for `particlegrid bench`: torchvision's network with our weights, exported by
PyTorch's own ONNX exporter, as a platform engineer would feed it to ONNX Runtime (or Triton's ONNX backend).

    /usr/bin/python3 bench/torchvision_onnx.py --architecture resnet50 --weights MODEL/weights.pth \
        --classes 4 --size 64 --output resnet50-64.onnx

The state_dict loads strictly into torchvision's resnet50 / densenet201 / shufflenet_v2_x1_0 (num_classes=--classes),
in eval mode. torch.onnx.export writes opset 17 with constant folding (PyTorch folds each BatchNorm that follows a
convolution into it), input "images" [batch, 3, size, size] with a dynamic batch, output "logits" [batch, classes].
"""

import argparse

import torch
import torchvision

BUILDERS = {
    "resnet50": torchvision.models.resnet50,
    "densenet201": torchvision.models.densenet201,
    "shufflenet_v2": torchvision.models.shufflenet_v2_x1_0,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--architecture", required=True, choices=sorted(BUILDERS))
    parser.add_argument("--weights", required=True)
    parser.add_argument("--classes", type=int, required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    model = BUILDERS[args.architecture](num_classes=args.classes)
    model.load_state_dict(torch.load(args.weights, map_location="cpu"), strict=True)
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(1, 3, args.size, args.size), args.output, opset_version=17,
                          do_constant_folding=True, input_names=["images"], output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    print(f"{args.architecture} {args.size} px -> {args.output} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
