"""How the out-of-scope score's method was chosen (docs/validation.md, "Unknown"): candidate scores on one trained
model set, in PyTorch (Debian's python3-torch and python3-torchvision), outside the product.

For each network (weights.pth of a ParticleGrid model folder, loaded strictly into torchvision's network) it fits,
on a 70 % split of the training folder, class-conditional Gaussians (probabilistic PCA, 64 components, shrinkage 0.1,
as ConfidenceFitting) on the globally pooled output of each stage, and scores with them:
  penultimate     the last stage alone (the product's method before)
  all stages      every stage, ln(distance) standardised on the other 30 %, averaged (the product's method now)
  stages 1-2      the two earliest stages alone
  all stages RMD  every stage, relative Mahalanobis distance (Ren et al. 2021), standardised, averaged
The ensemble averages the networks' standardised scores. It prints, per candidate, the share of each in-scope set kept
at the 95 % threshold (the criterion that chose the method: in-scope particles cut by the frame or out of focus must
stay in scope), and a leave-one-kind-out check: for each out-of-scope kind, the candidate with the best mean AUROC on
the other kinds of a first out-of-scope set, measured on the held-out kind of a second set made afresh.

  /usr/bin/python3 bench/out_of_scope_methods.py --models M --data TRAIN --test TEST --choose OOS1 --measure OOS2 \
      [--in-scope NAME=DIR ...]
"""
import argparse, glob, os
import numpy as np, torch, torchvision
from torchvision.io import read_image, ImageReadMode

KINDS = ["fibre", "schlieren", "debris", "agglomerate"]
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def load(folder):
    images, labels = [], []
    for label in sorted(os.listdir(folder)):
        for path in sorted(glob.glob(os.path.join(folder, label, "*.png"))):
            images.append(read_image(path, ImageReadMode.RGB).float() / 255)
            labels.append(label)
    return (torch.stack(images) - MEAN) / STD, np.array(labels)


def network(models, architecture):
    build = {"resnet50": torchvision.models.resnet50, "densenet201": torchvision.models.densenet201,
             "shufflenet_v2": torchvision.models.shufflenet_v2_x1_0}[architecture]
    model = build(weights=None, num_classes=4)
    model.load_state_dict(torch.load(os.path.join(models, architecture, "weights.pth")), strict=True)
    return model.eval()


def stages(architecture, model, images):
    """Each stage's globally pooled output, as IParticleNetwork.StageFeatures."""
    taps = {"resnet50": lambda m: [m.layer1, m.layer2, m.layer3, m.layer4],
            "densenet201": lambda m: [m.features.transition1, m.features.transition2, m.features.transition3, m.features.norm5],
            "shufflenet_v2": lambda m: [m.stage2, m.stage3, m.stage4, m.conv5]}[architecture](model)
    caught = []
    hooks = [tap.register_forward_hook(lambda _m, _i, out: caught.append(out)) for tap in taps]
    pooled = [[] for _ in taps]
    with torch.no_grad():
        for start in range(0, len(images), 50):
            caught.clear()
            model(images[start:start + 50])
            for i, out in enumerate(caught):
                pooled[i].append((torch.relu(out) if architecture == "densenet201" and i == 3 else out).mean((2, 3)))
    for hook in hooks:
        hook.remove()
    return [torch.cat(p).double().numpy() for p in pooled]


class Gaussians:
    def __init__(self, features, labels, components=64, shrinkage=0.1):
        self.mean = features.mean(0)
        centred = features - self.mean
        k = min(components, features.shape[1] - 1, len(features) - 5)
        _, singular, vt = np.linalg.svd(centred, full_matrices=False)
        self.basis = vt[:k]
        variances = singular ** 2 / len(features)
        self.residual = max(variances[k:].sum() / (features.shape[1] - k), 1e-12)
        z = centred @ self.basis.T
        classes = sorted(set(labels))
        self.centres = np.stack([z[labels == c].mean(0) for c in classes])
        within = np.concatenate([z[labels == c] - self.centres[i] for i, c in enumerate(classes)])
        self.precision = np.linalg.inv(self._shrink(within.T @ within / len(within), shrinkage))
        self.total_precision = np.linalg.inv(self._shrink(z.T @ z / len(z), shrinkage))

    @staticmethod
    def _shrink(covariance, shrinkage):
        k = len(covariance)
        return (1 - shrinkage) * covariance + shrinkage * np.trace(covariance) / k * np.eye(k)

    def _nearest(self, z):
        return np.stack([np.einsum("ij,jk,ik->i", z - c, self.precision, z - c) for c in self.centres], 1).min(1)

    def distance(self, features):
        centred = features - self.mean
        z = centred @ self.basis.T
        residual = np.maximum((centred ** 2).sum(1) - (z ** 2).sum(1), 0) / self.residual
        return np.log(np.maximum(self._nearest(z) + residual, 1e-12))

    def relative(self, features):
        z = (features - self.mean) @ self.basis.T
        return self._nearest(z) - np.einsum("ij,jk,ik->i", z, self.total_precision, z)


def auroc(out, inside):
    ranks = np.concatenate([out, inside]).argsort().argsort() + 1
    return (ranks[:len(out)].sum() - len(out) * (len(out) + 1) / 2) / (len(out) * len(inside))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--choose", required=True, help="out-of-scope set the leave-one-kind-out check chooses on")
    parser.add_argument("--measure", required=True, help="out-of-scope set made afresh, measured on")
    parser.add_argument("--in-scope", nargs="*", default=[], help="NAME=DIR shifted or artefact in-scope sets")
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    data, labels = load(args.data)
    order = np.random.default_rng(42).permutation(len(labels))
    train, validation = order[:int(0.7 * len(order))], order[int(0.7 * len(order)):]
    sets = {"test": load(args.test)[0], **{s.split("=", 1)[0]: load(s.split("=", 1)[1])[0] for s in args.in_scope}}
    for tag, folder in (("choose", args.choose), ("measure", args.measure)):
        images, kinds = load(folder)
        for kind in KINDS:
            sets[f"{tag}:{kind}"] = images[torch.from_numpy(kinds == kind)]

    candidates = {"penultimate": ([3], "distance"), "all stages": ([0, 1, 2, 3], "distance"),
                  "stages 1-2": ([0, 1], "distance"), "all stages RMD": ([0, 1, 2, 3], "relative")}
    scores = {name: [] for name in candidates}
    for architecture in ["shufflenet_v2", "resnet50", "densenet201"]:
        model = network(args.models, architecture)
        fitted = stages(architecture, model, data)
        others = {name: stages(architecture, model, images) for name, images in sets.items()}
        per_stage = []
        for s in range(4):
            g = Gaussians(fitted[s][train], labels[train])
            features = {"validation": fitted[s][validation], **{n: f[s] for n, f in others.items()}}
            per_stage.append({"distance": {n: g.distance(f) for n, f in features.items()},
                              "relative": {n: g.relative(f) for n, f in features.items()}})
        for name, (chosen, kind) in candidates.items():
            standardised = {}
            for s in chosen:
                values = per_stage[s][kind]
                mu, sd = values["validation"].mean(), values["validation"].std()
                for n, v in values.items():
                    standardised.setdefault(n, []).append((v - mu) / sd)
            scores[name].append({n: np.mean(v, 0) for n, v in standardised.items()})
    ensemble = {name: {n: np.mean([s[n] for s in per], 0) for n in per[0]} for name, per in scores.items()}

    print("in-scope kept at the 95 % threshold, and AUROC on the fresh out-of-scope set (ensemble):")
    for name, s in ensemble.items():
        threshold = np.quantile(s["validation"], 0.95)
        kept = "  ".join(f"{n} {np.mean(s[n] <= threshold):.1%}" for n in sets if ":" not in n)
        separation = "  ".join(f"{k} {auroc(s['measure:' + k], s['test']):.3f}" for k in KINDS)
        print(f"  {name:15s} kept: {kept} | AUROC: {separation}")
    print("leave one kind out (chosen on the others in --choose, measured on the held-out kind in --measure):")
    for held in KINDS:
        rest = [k for k in KINDS if k != held]
        mean_auroc = {name: np.mean([auroc(s["choose:" + k], s["test"]) for k in rest]) for name, s in ensemble.items()}
        best = max(mean_auroc, key=mean_auroc.get)
        s = ensemble[best]
        threshold = np.quantile(s["validation"], 0.95)
        print(f"  {held:12s} chosen '{best}' (others {mean_auroc[best]:.3f}): AUROC {auroc(s['measure:' + held], s['test']):.3f}, "
              f"flagged {np.mean(s['measure:' + held] > threshold):.1%}")


if __name__ == "__main__":
    main()
