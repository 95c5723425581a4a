using System.CommandLine;
using ParticleGrid.Inference;
using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using TorchSharp;

namespace ParticleGrid.Cli.Commands;

/// <summary>Options shared by the commands that run trained models.</summary>
public static class ModelOptions
{
    public static Option<string?> ModelDirectories() => new("--model")
    {
        Description = "Model folder(s) written by 'particlegrid train', comma-separated (several: soft-vote ensemble)",
    };

    public static Option<string> Device()
    {
        var device = new Option<string>("--device") { Description = "Where to run", DefaultValueFactory = _ => "auto" };
        device.AcceptOnlyFromAmong([.. ComputeDevices.Choices]);
        return device;
    }

    public static IReadOnlyList<LoadedModel> LoadAll(string commaSeparated, torch.Device device)
    {
        var loaded = new List<LoadedModel>();
        try
        {
            foreach (var directory in commaSeparated.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                loaded.Add(ModelDirectory.Load(directory, device));
        }
        catch
        {
            foreach (var model in loaded) model.Dispose();
            throw;
        }
        if (loaded.Count == 0) throw new ArgumentException("--model: give at least one model folder");
        return loaded;
    }
}
