using System.Text;
using Xunit.Sdk;

namespace ParticleGrid.Ingest.Tests;

/// <summary>
/// A property of every reader: whatever a run folder holds (random bytes, damaged images, lists with lines dropped,
/// repeated, swapped or with values replaced), reading it yields entries (a particle or a rejection each) or throws an
/// <see cref="ExportException"/>, never anything else, and never hangs. Seeded, so a failure repeats.
/// </summary>
public sealed class DamagedExportTests : IDisposable
{
    private const int Iterations = 200;
    private static readonly TimeSpan IterationLimit = TimeSpan.FromSeconds(20);

    /// <summary>Values a damaged list cell takes: empty, not numbers, extremes, separators, paths out of the folder.</summary>
    private static readonly string[] CellValues =
    [
        "", " ", "NaN", "-1", "-0", "1e309", "Infinity", "abc", "0", "99999999999", "1.5", "2147483647", "-2147483648", "\"", "\"\"",
        "\"a,b\"", "|", ",", ";", "\t", "\r", "\n", "\0", "µm", "..", "../collage_00001.tif", "/etc/hostname", "C:\\x.tif",
        "images\\p1001.png", "glass/glass_00001.png", "collage_00002.tif", "cal_image_000001.tif", new string('9', 400),
    ];

    private readonly TemporaryFolder _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData("flowcam", 11)]
    [InlineData("mfi", 12)]
    [InlineData("image-folder", 13)]
    public async Task A_damaged_export_gives_entries_or_an_export_exception(string format, int seed)
    {
        var random = new Random(seed);
        ExportFixture[] fixtures = format switch
        {
            "flowcam" => [ExportFixtures.FlowCam(asLst: true), ExportFixtures.FlowCam(asLst: false)],
            "mfi" => [ExportFixtures.Mfi()],
            _ => [ExportFixtures.ImageFolder()],
        };
        IExportReader reader = format switch
        {
            "flowcam" => ExportReaders.FlowCam,
            "mfi" => ExportReaders.Mfi,
            _ => ExportReaders.ImageFolder,
        };

        for (int iteration = 0; iteration < Iterations; iteration++)
        {
            Dictionary<string, byte[]> files = Damage(fixtures[iteration % fixtures.Length], random);
            string folder = Path.Combine(_root.Path, $"{format}-{iteration}");
            foreach ((string relative, byte[] bytes) in files)
            {
                string path = Path.Combine(folder, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, bytes);
            }

            int attempt = iteration;
            try
            {
                await Task.Run(() => ReadExpectingOnlyEntries(reader, folder, attempt)).WaitAsync(IterationLimit);
            }
            catch (TimeoutException)
            {
                Assert.Fail($"iteration {iteration} of {format} did not finish in {IterationLimit.TotalSeconds} s");
            }
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void ReadExpectingOnlyEntries(IExportReader reader, string folder, int iteration)
    {
        try
        {
            ExportReaders.Detect(folder);
            foreach (ExportEntry entry in reader.Read(folder))
            {
                if (entry.Particle is null == (entry.Rejection is null)) throw new XunitException($"iteration {iteration}: an entry with both or neither");
                if (entry.Rejection is { } rejection && (rejection.Message.Contains('\n') || !rejection.Message.StartsWith(rejection.Source)))
                {
                    throw new XunitException($"iteration {iteration}: a rejection message that is not one line about its source: {rejection.Message}");
                }
            }
        }
        catch (ExportException)
        {
            // The folder or its list cannot be read at all: an allowed answer.
        }
        catch (Exception e) when (e is not XunitException)
        {
            throw new XunitException($"iteration {iteration} in {folder}: {e}");
        }
    }

    /// <summary>A copy of the fixture's files with one to three kinds of damage, half of them to the lists' lines.</summary>
    private static Dictionary<string, byte[]> Damage(ExportFixture fixture, Random random)
    {
        var files = fixture.Files.ToDictionary(pair => pair.Key, pair => (byte[])pair.Value.Clone());
        int damages = 1 + random.Next(3);
        for (int i = 0; i < damages; i++)
        {
            string[] names = [.. files.Keys.Order(StringComparer.Ordinal)];
            string[] lists = [.. names.Where(name => name.EndsWith(".csv") || name.EndsWith(".lst"))];
            if (lists.Length > 0 && random.Next(2) == 0)
            {
                string list = Pick(random, lists);
                files[list] = Encoding.UTF8.GetBytes(DamageLines(Encoding.UTF8.GetString(files[list]), random));
                continue;
            }
            string name = Pick(random, names);
            switch (random.Next(6))
            {
                case 0: files[name] = Flip(files[name], random); break;
                case 1: files[name] = files[name][..random.Next(files[name].Length + 1)]; break;
                case 2: files[name] = Insert(files[name], random); break;
                case 3: files[name] = RandomBytes(random, random.Next(300)); break;
                case 4: files.Remove(name); break;
                default: files[$"extra_{i}{Pick(random, [".png", ".tif", ".bmp", ".jpg", ".csv", ".lst"])}"] = RandomBytes(random, random.Next(200)); break;
            }
        }
        return files;
    }

    /// <summary>Drops, repeats or swaps a line, or replaces one of its cells with a bad value.</summary>
    private static string DamageLines(string text, Random random)
    {
        List<string> lines = [.. text.Split('\n')];
        int at = random.Next(lines.Count);
        switch (random.Next(6))
        {
            case 0: lines.RemoveAt(at); break;
            case 1: lines.Insert(at, lines[random.Next(lines.Count)]); break;
            case 2:
                int other = random.Next(lines.Count);
                (lines[at], lines[other]) = (lines[other], lines[at]);
                break;
            default:
                char separator = lines[at].Contains('|') ? '|' : ',';
                string[] cells = lines[at].Split(separator);
                cells[random.Next(cells.Length)] = Pick(random, CellValues);
                lines[at] = string.Join(separator, cells);
                break;
        }
        return string.Join('\n', lines);
    }

    private static byte[] Flip(byte[] bytes, Random random)
    {
        if (bytes.Length == 0) return bytes;
        for (int i = 1 + random.Next(8); i > 0; i--) bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
        return bytes;
    }

    private static byte[] Insert(byte[] bytes, Random random)
    {
        int at = random.Next(bytes.Length + 1);
        return [.. bytes[..at], .. RandomBytes(random, 1 + random.Next(16)), .. bytes[at..]];
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private static T Pick<T>(Random random, T[] choices) => choices[random.Next(choices.Length)];
}
