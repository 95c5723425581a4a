using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using ParticleGrid.Abstractions;
using ParticleGrid.Domain;
using ParticleGrid.Imaging;
using ParticleGrid.Inference.Models;
using ParticleGrid.ModelRepository;
using ParticleGrid.Training;
using ParticleGrid.Storage;
using ParticleGrid.Ingestion;

namespace ParticleGrid.Cli.Commands;

/// <summary>
/// <c>particlegrid demo</c>, the README's main command: on SYNTHETIC data, the whole system in one process. Trains the
/// three networks (cached in the data directory for the next run), starts the embedded host, feeds two simulated
/// instruments at once with runs of two lots, shows progress, prints both lot profiles, then serves until Ctrl-C.
/// </summary>
public static class DemoCommand
{
    /// <summary>The demo's training recipe: small enough for 2 CPU cores, the study's otherwise (10 epochs, lr 0.00625, batch 16).</summary>
    public const int InputSize = 40, ImagesPerClass = 200, ImageSize = 64;
    public const double MicrometresPerPixel = 1.0;
    public static readonly string[] Architectures = ["shufflenet_v2", "resnet50", "densenet201"];

    /// <summary>A simulated instrument run: its lot, the sample volume it analysed, and the mix of particle types in it.</summary>
    private sealed record SimulatedRun(string RunId, string InstrumentId, string LotId, double AnalysedVolumeMl, int Particles, int Seed,
        (ParticleType Type, double Share)[] Mix);

    public static Command Create()
    {
        var host = new HostCommandOptions("demo");
        host.DataDirectory.Aliases.Add("--out");
        var exit = new Option<bool>("--exit") { Description = "Exit after printing the profiles instead of serving until Ctrl-C" };
        var particles = new Option<int>("--particles-per-run") { Description = "Particle images each simulated run sends", DefaultValueFactory = _ => 150 };
        particles.Validators.Add(r => { if (r.GetValue(particles) is < 8 or > 100_000) r.AddError("--particles-per-run must be 8-100000"); });

        var command = new Command("demo",
            "Runs the whole system on SYNTHETIC data: trains ResNet50, DenseNet201 and ShuffleNetV2 (cached), starts the embedded " +
            "host, feeds two simulated instruments with runs of two lots, and prints both lot profiles.")
        {
            exit, particles,
        };
        host.AddTo(command);
        command.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            string root = parse.GetValue(host.DataDirectory)!.FullName;
            ClaimDataDirectory(root);
            var models = await TrainOrReuseAsync(root, parse.GetValue(host.Device) ?? "auto", cancellation);

            Console.WriteLine("starting the embedded host ...");
            await using var app = await host.BuildHostAsync(parse);
            await app.StartAsync(cancellation);
            var grains = app.Services.GetRequiredService<IGrainFactory>();
            var registry = grains.GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site);
            var set = await registry.Activate((await registry.Register(models)).Version);
            Console.WriteLine($"model set {set.Version} active on the worker: {string.Join(", ", set.Members.Select(m => m.Version))}");

            int perRun = parse.GetValue(particles);
            var runs = Runs(perRun);
            await grains.GetGrain<ILotGrain>("LOT-A").Describe(new LotDescriptor(1.0, "mAb-1, 1 mL prefilled syringe (freeze-thaw stressed)"));
            await grains.GetGrain<ILotGrain>("LOT-B").Describe(new LotDescriptor(2.0, "mAb-1, 2 mL vial (siliconised stopper)"));
            await FeedInstrumentsAsync(grains, runs, cancellation);

            foreach (var lot in new[] { "LOT-A", "LOT-B" })
            {
                Console.WriteLine();
                Console.Write(LotProfileReport.Format((await grains.GetGrain<ILotGrain>(lot).GetProfile())!));
            }
            string url = host.Url(parse);
            Console.WriteLine();
            Console.WriteLine($"The profiles are also at {url}/lots/LOT-A and {url}/lots/LOT-B (with a bearer token); runs at {url}/runs/{runs[0].RunId}.");
            Console.WriteLine($"'particlegrid lot LOT-A --data-dir {root}' prints a profile from the store without the host.");
            Console.WriteLine($"QA web UI: {url}/ (sign in with the admin token in {Path.Combine(root, "first-admin-token")} (written at the first start), " +
                $"or make one: particlegrid token create --role qa --data-dir {root})");
            if (!parse.GetValue(exit))
            {
                Console.WriteLine("Serving until Ctrl-C ...");
                await HostCommandOptions.WaitForCtrlCAsync(app, cancellation);
            }
            await app.StopAsync(CancellationToken.None);
            return 0;
        }));
        return command;
    }

    /// <summary>The demo rewrites its own folder; it never touches a folder it did not make.</summary>
    private static void ClaimDataDirectory(string root)
    {
        string marker = Path.Combine(root, ".particlegrid-demo");
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any() && !File.Exists(marker))
            throw new ArgumentException($"{root}: folder exists and was not made by 'particlegrid demo'; give --data-dir a new folder");
        Directory.CreateDirectory(root);
        File.WriteAllText(marker, "Written by 'particlegrid demo': synthetic data, models, the particle store; the demo may rewrite this folder.\n");
    }

    /// <summary>Trains the three networks on synthetic data, or reuses those a previous demo left (same recipe).</summary>
    private static async Task<IReadOnlyList<string>> TrainOrReuseAsync(string root, string device, CancellationToken cancellation)
    {
        string data = Path.Combine(root, "training-data");
        var directories = Architectures.Select(a => Path.Combine(root, "models", a)).ToList();
        bool cached = directories.All(d =>
        {
            try { return ModelFolder.ReadManifest(d) is { InputSize: InputSize } m && m.Data.ImageCount == ImagesPerClass * 4; }
            catch (ModelDirectoryException) { return false; }
        });
        if (cached)
        {
            Console.WriteLine($"using the networks trained by an earlier demo run ({Path.Combine(root, "models")})");
            return directories;
        }

        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
        var summary = SyntheticParticles.WriteDataset(data, ImagesPerClass, seed: 7, imageSize: ImageSize, micrometresPerPixel: MicrometresPerPixel);
        Console.WriteLine($"synthetic training images: {summary.Counts.Values.Sum()} in {data}");
        foreach (var (architecture, directory) in Architectures.Zip(directories))
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
            var progress = new ConsoleProgressBar($"training {architecture,-13}", 10);
            var options = new TrainingOptions(architecture, data, directory, InputSize: InputSize, Device: device);
            var manifest = await Task.Run(() => new NetworkTrainer(options, new EpochProgress(progress)).Train(cancellation), cancellation);
            progress.Finish($"trained {architecture} at {InputSize} px: validation accuracy {manifest.Validation.Accuracy:P1} (epoch {manifest.Validation.Epoch} kept)");
        }
        return directories;
    }

    /// <summary>
    /// Two instruments (a FlowCAM and an MFI), each imaging one sample of each lot: four runs sent at once, two batches
    /// in flight per run. LOT-A is protein-rich (freeze-thaw); LOT-B is rich in silicone oil and analysed at a small
    /// volume, so its counts per container are high.
    /// </summary>
    private static SimulatedRun[] Runs(int perRun)
    {
        (ParticleType, double)[] stressed = [(ParticleType.Protein, 0.45), (ParticleType.SiliconeOil, 0.2), (ParticleType.Glass, 0.15), (ParticleType.Bubble, 0.2)];
        (ParticleType, double)[] siliconised = [(ParticleType.SiliconeOil, 0.5), (ParticleType.Protein, 0.15), (ParticleType.Glass, 0.15), (ParticleType.Bubble, 0.2)];
        return
        [
            new("FC8100-1-A", "FlowCAM-8100-1", "LOT-A", 0.5, perRun, 101, stressed),
            new("MFI5200-1-A", "MFI-5200-1", "LOT-A", 0.5, perRun, 102, stressed),
            new("FC8100-1-B", "FlowCAM-8100-1", "LOT-B", 0.015, perRun, 201, siliconised),
            new("MFI5200-1-B", "MFI-5200-1", "LOT-B", 0.015, perRun, 202, siliconised),
        ];
    }

    private static async Task FeedInstrumentsAsync(IGrainFactory grains, SimulatedRun[] runs, CancellationToken cancellation)
    {
        int total = runs.Sum(r => r.Particles);
        var progress = new ConsoleProgressBar("classifying", total);
        Console.WriteLine($"feeding {runs.Select(r => r.InstrumentId).Distinct().Count()} instruments: {runs.Length} runs, {total} particle images ...");
        var feeding = Task.WhenAll(runs.Select(run => Task.Run(() => FeedAsync(grains, run), cancellation)));
        while (!feeding.IsCompleted)
        {
            await Task.WhenAny(feeding, Task.Delay(500, cancellation));
            var statuses = await Task.WhenAll(runs.Select(r => grains.GetGrain<IInstrumentRunGrain>(r.RunId).GetStatus()));
            progress.Report(statuses.Sum(s => s.Recorded), string.Join("  ", statuses.Select(s => $"{s.RunId} {s.Recorded}/{s.Descriptor?.ExpectedParticles}")));
        }
        int replayed = (await feeding).Sum();
        var final = await Task.WhenAll(runs.Select(r => grains.GetGrain<IInstrumentRunGrain>(r.RunId).Complete()));
        progress.Finish($"classified {final.Sum(s => s.Classified)} particles ({final.Sum(s => s.Uncertain)} uncertain, {final.Sum(s => s.Failed)} failed) from {runs.Length} runs" +
            (replayed > 0 ? $"; {replayed} were already recorded by an earlier demo run and were not counted again" : ""));
    }

    /// <summary>Sends a run's batches, two in flight; returns how many particles the store already had (replays).</summary>
    private static async Task<int> FeedAsync(IGrainFactory grains, SimulatedRun run)
    {
        var grain = grains.GetGrain<IInstrumentRunGrain>(run.RunId);
        await grain.Start(new RunDescriptor(run.LotId, run.InstrumentId, run.AnalysedVolumeMl, run.Particles));
        var random = new Random(run.Seed);
        var batches = Enumerable.Range(0, run.Particles).Chunk(16).ToList();
        using var inFlight = new SemaphoreSlim(2);
        var receipts = await Task.WhenAll(batches.Select(async (indices, b) =>
        {
            ParticleImage[] batch;
            lock (random) batch = [.. indices.Select(i => Particle(run, Pick(run.Mix, random.NextDouble()), i))];
            await inFlight.WaitAsync();
            try { return await grain.SubmitBatch($"{run.RunId}-batch-{b:D3}", batch); }
            finally { inFlight.Release(); }
        }));
        return receipts.Sum(r => r.AlreadyRecorded);
    }

    private static ParticleType Pick((ParticleType Type, double Share)[] mix, double u)
    {
        foreach (var (type, share) in mix)
        {
            if ((u -= share) < 0) return type;
        }
        return mix[^1].Type;
    }

    private static ParticleImage Particle(SimulatedRun run, ParticleType type, int index)
    {
        using var particle = SyntheticParticles.Draw(type, ImageSize, MicrometresPerPixel, Seeds.Derive(run.Seed, index));
        return new ParticleImage($"{index + 1:D6}", particle.ToPng(), Math.Round(particle.EcdMicrometres, 2));
    }

    /// <summary>Training progress as a bar of epochs.</summary>
    private sealed class EpochProgress(ConsoleProgressBar bar) : ITrainingObserver
    {
        public void LoadingImages(int done, int total) { }
        public void Started(string device, int trainCount, int validationCount, int batchesPerEpoch) { }
        public void BatchDone(int epoch, int batch, double runningLoss, double runningAccuracy, double imagesPerSecond) { }
        public void EpochDone(EpochRecord e, bool kept) => bar.Report(e.Epoch, $"validation accuracy {e.ValidationAccuracy:P1}");
    }
}
