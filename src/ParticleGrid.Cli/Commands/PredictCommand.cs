using ParticleGrid.Inference.Native;
using ParticleGrid.Training.Native;
using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using ParticleGrid.Domain;
using ParticleGrid.Imaging;
using ParticleGrid.Inference;
using ParticleGrid.Inference.Data;
using ParticleGrid.Training.Data;
using ParticleGrid.Training.Evaluation;
using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using ParticleGrid.Inference.Networks;
using ParticleGrid.Inference.Prediction;
using TorchSharp;

namespace ParticleGrid.Cli.Commands;

/// <summary>
/// <c>particlegrid predict</c>: class probabilities for particle images, from trained model folders (several: soft-vote
/// ensemble) or from a bare PyTorch checkpoint. A bad image is reported on its own and the others still get their answer.
/// </summary>
public static class PredictCommand
{
    sealed record Predictor(string Name, IReadOnlyList<string> Classes, NetworkRunner Classifier);

    public static Command Create()
    {
        var models = ModelOptions.ModelDirectories();
        var arch = new Option<string?>("--arch") { Description = "With --weights: the checkpoint's network" };
        arch.AcceptOnlyFromAmong([.. ParticleNetworks.Architectures]);
        var weights = new Option<FileInfo?>("--weights") { Description = "A bare PyTorch state_dict (.pth), e.g. a torchvision ImageNet checkpoint" };
        var inputSize = new Option<int>("--input-size") { Description = "With --weights: network input side in pixels", DefaultValueFactory = _ => 224 };
        var classNames = new Option<string?>("--classes") { Description = "With --weights: comma-separated class names (default class_0, class_1, ...)" };
        var json = new Option<bool>("--json") { Description = "Print a JSON array: per image its file name and probabilities in class order" };
        var device = ModelOptions.Device();
        var images = new Argument<FileInfo[]>("IMAGE") { Description = "Particle images (PNG, TIFF, BMP, JPEG)", Arity = ArgumentArity.OneOrMore };

        var command = new Command("predict",
            "Classifies particle images. Grey images are replicated to three channels, non-square ones padded with their background, " +
            "and an image already at the input size is not resampled; inputs are normalised with ImageNet mean/std.")
        {
            models, arch, weights, inputSize, classNames, json, device, images,
        };
        command.Validators.Add(r =>
        {
            bool fromModels = r.GetValue(models) is not null, fromCheckpoint = r.GetValue(weights) is not null;
            if (fromModels == fromCheckpoint) r.AddError("give either --model MODELDIR[,...] or --arch A --weights PTH");
            if (fromCheckpoint && r.GetValue(arch) is null) r.AddError("--weights needs --arch");
        });

        command.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            var onDevice = ComputeDevices.Resolve(parse.GetValue(device)!);
            var loaded = parse.GetValue(models) is { } directories ? ModelOptions.LoadAll(directories, onDevice) : [];
            var bare = loaded.Count == 0
                ? LoadCheckpoint(parse.GetValue(arch)!, parse.GetValue(weights)!.FullName, parse.GetValue(inputSize), parse.GetValue(classNames), onDevice)
                : null;
            try
            {
                var predictors = bare is not null
                    ? [bare.Value.Predictor]
                    : loaded.Zip(ModelSets.UniqueNames(loaded.Select(m => m.Name).ToList()), (m, name) => new Predictor(name, m.Manifest.Classes,
                        new NetworkRunner(m.Network, m.Manifest.InputSize, m.Normalization, m.Device))).ToList();
                var classes = predictors[0].Classes;
                var odd = predictors.FirstOrDefault(p => !p.Classes.SequenceEqual(classes));
                if (odd is not null) throw new ModelDirectoryException($"{odd.Name}: classes differ from {predictors[0].Name}; an ensemble needs the same classes in the same order");

                var paths = parse.GetValue(images)!.Select(f => f.FullName).ToList();
                var rows = await Task.Run(() =>
                {
                    using var step = NativeSteps.Begin($"classifying {paths.Count} image(s) with {string.Join(", ", predictors.Select(p => p.Name))}");
                    return Predict(predictors, paths, cancellation);
                }, cancellation);
                if (parse.GetValue(json)) PrintJson(rows, classes, predictors.Count > 1);
                else PrintTable(rows, classes);
                return rows.Any(r => r.Error is not null) ? CommandErrors.Failed : 0;
            }
            finally
            {
                foreach (var model in loaded) model.Dispose();
                bare?.Network.Dispose();
            }
        }));
        return command;
    }

    sealed record ImageResult(string File, string? Error, EnsembleDecision? Decision, IReadOnlyList<(string Model, float[] Probabilities)> PerModel);

    static List<ImageResult> Predict(IReadOnlyList<Predictor> predictors, IReadOnlyList<string> paths, CancellationToken cancellation)
    {
        var perModel = new List<(float[]? Planes, ParticleImageException? Error)[]>();
        var probabilities = new List<float[]?[]>();
        foreach (var predictor in predictors)
        {
            var loaded = InputBatches.LoadEach(paths, predictor.Classifier.InputSize, cancellation: cancellation);
            var good = Enumerable.Range(0, paths.Count).Where(i => loaded[i].Error is null).ToList();
            var results = predictor.Classifier.Probabilities(good.Select(i => loaded[i].Planes!).ToList());
            var byImage = new float[]?[paths.Count];
            for (int k = 0; k < good.Count; k++) byImage[good[k]] = results[k];
            perModel.Add(loaded);
            probabilities.Add(byImage);
        }

        var voter = new EnsembleVoter(VoteRule.Soft, 0.90);
        return Enumerable.Range(0, paths.Count).Select(i =>
        {
            var error = perModel[0][i].Error;
            if (error is not null) return new ImageResult(paths[i], error.Message, null, []);
            var each = predictors.Select((p, m) => (p.Name, probabilities[m][i]!)).ToList();
            return new ImageResult(paths[i], null, voter.Decide(each.Select(e => (IReadOnlyList<float>)e.Item2).ToList()), each);
        }).ToList();
    }

    static void PrintJson(IReadOnlyList<ImageResult> rows, IReadOnlyList<string> classes, bool ensemble)
    {
        var array = new JsonArray();
        foreach (var row in rows)
        {
            var item = new JsonObject { ["file"] = Path.GetFileName(row.File), ["path"] = row.File };
            if (row.Decision is null) item["error"] = row.Error;
            else
            {
                var d = row.Decision;
                item["probabilities"] = new JsonArray(d.Probabilities.Select(p => (JsonNode)JsonValue.Create(p)).ToArray());
                item["classes"] = new JsonArray(classes.Select(c => (JsonNode)JsonValue.Create(c)).ToArray());
                item["predicted"] = classes[d.ClassIndex];
                item["probability"] = d.Probability;
                item["uncertain"] = d.IsUncertain;
                if (ensemble)
                    item["models"] = new JsonObject(row.PerModel.Select(m => KeyValuePair.Create(m.Model,
                        (JsonNode?)new JsonArray(m.Probabilities.Select(p => (JsonNode)JsonValue.Create(p)).ToArray()))));
            }
            array.Add(item);
        }
        Console.WriteLine(array.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    static void PrintTable(IReadOnlyList<ImageResult> rows, IReadOnlyList<string> classes)
    {
        Console.WriteLine($"{"image",-32} {"class",-14} {"prob.",6}  note");
        foreach (var row in rows)
        {
            string name = Path.GetFileName(row.File);
            if (row.Decision is not { } d) { Console.WriteLine($"{name,-32} {"-",-14} {"-",6}  rejected: {row.Error}"); continue; }
            string note = d.Reason switch
            {
                UncertainReason.BelowThreshold => "uncertain: below 0.90",
                UncertainReason.Disagreement => "uncertain: networks disagree",
                _ => "",
            };
            Console.WriteLine($"{name,-32} {classes[d.ClassIndex],-14} {d.Probability,6:F3}  {note}");
        }
    }

    static (Predictor Predictor, TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> Network)? LoadCheckpoint(
        string architecture, string pth, int inputSize, string? classNames, TorchSharp.torch.Device device)
    {
        if (inputSize is < 32 or > 1024) throw new ArgumentException("--input-size must be between 32 and 1024 pixels");
        int classCount = CheckpointInspector.ClassifierClassCount(pth, architecture);
        var classes = classNames?.Split(',', StringSplitOptions.TrimEntries).ToList()
                      ?? Enumerable.Range(0, classCount).Select(i => $"class_{i}").ToList();
        if (classes.Count != classCount)
            throw new ArgumentException($"--classes names {classes.Count} classes but {pth} has {classCount}");
        var network = ParticleNetworks.Create(architecture, classCount);
        try
        {
            ParticleNetworks.LoadCheckpoint(network, architecture, pth);
            network.to(device);
            network.eval();
        }
        catch
        {
            network.Dispose();
            throw;
        }
        return (new Predictor(Path.GetFileName(pth), classes, new NetworkRunner(network, inputSize, ChannelNormalization.ImageNet, device)), network);
    }
}
