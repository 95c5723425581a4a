"""PyTorch's answer for `particlegrid predict --arch A --weights PTH --input-size N IMAGE... --json`.

Usage: /usr/bin/python3 predict_reference.py ARCH CLASSES SEED DIR IMAGE...
Builds torchvision's ARCH with CLASSES outputs, seeded weights and batch-norm statistics from one training batch,
saves DIR/weights.pth, then classifies each IMAGE exactly as torchvision users do: PIL -> float in [0,1],
grey replicated to three channels, ImageNet mean/std, no resizing (images are already N x N).
Prints JSON [[p0, p1, ...], ...], one row per image.
"""
import json
import sys

try:
    import numpy
    import torch
    import torchvision
    from PIL import Image
except ImportError as missing:
    print(f"PyTorch reference unavailable ({missing}): install python3-torch python3-torchvision (apt)", file=sys.stderr)
    sys.exit(3)

architecture, classes, seed, directory, images = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
builders = {"resnet50": torchvision.models.resnet50, "densenet201": torchvision.models.densenet201,
            "shufflenet_v2": torchvision.models.shufflenet_v2_x1_0}
torch.manual_seed(seed)
model = builders[architecture](weights=None, num_classes=classes)
with torch.no_grad():
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 1.0
    model.train()
    model(torch.randn(4, 3, 64, 64))
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 0.1
model.eval()
torch.save(model.state_dict(), f"{directory}/weights.pth")

mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
rows = []
with torch.no_grad():
    for path in images:
        picture = Image.open(path)
        pixels = numpy.asarray(picture.convert("L") if picture.mode in ("L", "I;16") else picture.convert("RGB"), dtype=numpy.float32) / 255.0
        planes = torch.from_numpy(pixels)
        planes = planes.unsqueeze(0).repeat(3, 1, 1) if planes.dim() == 2 else planes.permute(2, 0, 1)
        batch = ((planes - mean) / std).unsqueeze(0)
        rows.append(torch.softmax(model(batch), dim=1)[0].tolist())
print(json.dumps(rows))
