using ParticleGrid.Domain;
using SixLabors.ImageSharp;

namespace ParticleGrid.Imaging.Tests;

public sealed class SyntheticDatasetTests : IDisposable
{
    private readonly TemporaryFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static Dictionary<string, byte[]> ReadAll(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(path => Path.GetRelativePath(root, path), File.ReadAllBytes);

    [Fact]
    public void Writes_one_folder_per_class_with_numbered_grey_pngs_and_a_csv()
    {
        var reported = new List<int>();
        SyntheticDatasetSummary summary = SyntheticParticles.WriteDataset(
            _folder.File("set"), perClass: 5, seed: 7, progress: new SynchronousProgress(reported));

        Assert.Equal(Path.GetFullPath(_folder.File("set")), summary.Directory);
        Assert.Equal((7, 64, 1.0), (summary.Seed, summary.ImageSize, summary.MicrometresPerPixel));
        Assert.Equal(ParticleTypes.StudyTypes.ToDictionary(t => t, _ => 5), summary.Counts);
        foreach (string folder in new[] { "bubble", "silicone_oil", "glass", "protein" })
        {
            string[] files = [.. Directory.GetFiles(Path.Combine(summary.Directory, folder)).Select(Path.GetFileName).Order()!];
            Assert.Equal([.. Enumerable.Range(1, 5).Select(i => $"{folder}_{i:D5}.png")], files);
        }
        Assert.False(Directory.Exists(Path.Combine(summary.Directory, "fibre")));

        IImageInfo info = Image.Identify(Path.Combine(summary.Directory, "glass", "glass_00003.png"));
        Assert.Equal((64, 64, 8), (info.Width, info.Height, info.PixelType.BitsPerPixel));

        string[] csv = File.ReadAllLines(Path.Combine(summary.Directory, "synthetic.csv"));
        Assert.StartsWith("# SYNTHETIC", csv[0]);
        Assert.Equal("file,class,ecd_um,um_per_pixel,seed", csv[1]);
        Assert.Equal(2 + 20, csv.Length);
        Assert.Matches(@"^silicone_oil/silicone_oil_00002\.png,silicone_oil,\d+(\.\d+)?,1,\d+$", csv.Single(l => l.StartsWith("silicone_oil/silicone_oil_00002", StringComparison.Ordinal)));

        Assert.Equal(20, reported.Count);
        Assert.Equal(Enumerable.Range(1, 20), reported.Order());
    }

    [Fact]
    public void Two_runs_with_one_seed_write_identical_bytes()
    {
        SyntheticParticles.WriteDataset(_folder.File("a"), perClass: 8, seed: 99);
        SyntheticParticles.WriteDataset(_folder.File("b"), perClass: 8, seed: 99);
        SyntheticParticles.WriteDataset(_folder.File("c"), perClass: 8, seed: 100);

        Dictionary<string, byte[]> a = ReadAll(_folder.File("a")), b = ReadAll(_folder.File("b")), c = ReadAll(_folder.File("c"));
        Assert.Equal(4 * 8 + 1, a.Count);
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        Assert.All(a, file => Assert.Equal(file.Value, b[file.Key]));
        Assert.NotEqual(a["glass/glass_00001.png"], c["glass/glass_00001.png"]);
    }

    [Fact]
    public void A_rerun_overwrites_its_own_files_but_refuses_to_mix_with_another_run()
    {
        string root = _folder.File("set");
        SyntheticParticles.WriteDataset(root, perClass: 3, seed: 1);
        SyntheticParticles.WriteDataset(root, perClass: 3, seed: 2); // same names: fine

        IOException error = Assert.Throws<IOException>(() => SyntheticParticles.WriteDataset(root, perClass: 2, seed: 1));
        Assert.Contains("bubble_00003.png", error.Message);
    }

    /// <summary>Records reports on the calling thread (Progress&lt;T&gt; would post them later).</summary>
    private sealed class SynchronousProgress(List<int> reported) : IProgress<int>
    {
        public void Report(int value)
        {
            lock (reported) reported.Add(value);
        }
    }
}
