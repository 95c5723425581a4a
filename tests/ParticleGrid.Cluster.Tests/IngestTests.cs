using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using ParticleGrid.Abstractions;
using ParticleGrid.Cluster.Tests.Support;
using ParticleGrid.Domain;
using ParticleGrid.Storage;
using Xunit.Abstractions;

namespace ParticleGrid.Cluster.Tests;

/// <summary>`particlegrid ingest` and `watch` as users run them, and the HTTP ingest endpoint, against a running host.</summary>
[Collection(TinyModelsCollection.Name)]
public sealed class IngestTests(TinyModels models, ITestOutputHelper output) : IDisposable
{
    private readonly TemporaryDirectory _work = new();

    private string DataDirectory => Path.Combine(_work.Path, "data");

    private async Task<RunningHost> StartHostAsync()
    {
        var host = await RunningHost.StartAsync(o => o.DataDirectory = DataDirectory);
        await TestClusters.ActivateAsync(host.Grains, models.Directories);
        return host;
    }

    private static void WriteGoodImages(string folder, int count, int seed)
    {
        Directory.CreateDirectory(folder);
        var types = ParticleTypes.StudyTypes;
        for (int i = 0; i < count; i++) File.WriteAllBytes(Path.Combine(folder, $"particle_{i:D4}.png"), TinyModels.Particle(types[i % 4], seed + i).Png);
    }

    [Fact]
    public async Task A_folder_mixing_good_and_bad_files_ingests_the_good_ones_and_names_every_bad_one()
    {
        await using var host = await StartHostAsync();
        string run = Path.Combine(_work.Path, "sample-1");
        WriteGoodImages(run, 12, 100);
        byte[] good = File.ReadAllBytes(Path.Combine(run, "particle_0000.png"));
        File.WriteAllBytes(Path.Combine(run, "truncated.png"), good[..(good.Length / 2)]);
        File.WriteAllText(Path.Combine(run, "notes-not-an-image.png"), "these are my notes, not a picture");
        File.WriteAllBytes(Path.Combine(run, "empty.png"), []);
        File.WriteAllBytes(Path.Combine(run, "enormous.png"), PngClaiming(200_000, 200_000));
        File.WriteAllBytes(Path.Combine(run, "particle_0001.tif"), good);          // same id as particle_0001.png
        File.CreateSymbolicLink(Path.Combine(run, "escape.png"), "/etc/hostname");  // leaves the run folder
        File.WriteAllText(Path.Combine(run, "particles.csv"), "file,ecd_um\nparticle_0002.png,-3\n../outside.png,5\nparticle_0003.png,14.5\n");

        var result = CliProcess.Run(_work.Path, host.ClientEnvironment, "ingest", run, "--lot", "LOT-MIX", "--instrument", "FC-1", "--volume-ml", "0.2",
            "--um-per-pixel", "0.7", "--cluster", $"127.0.0.1:{host.GatewayPort}");

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var (file, reason) in new[]
                 {
                     ("truncated.png", "CorruptImage"), ("notes-not-an-image.png", "NotAnImage"), ("empty.png", "EmptyFile"),
                     ("enormous.png", "ImageTooLarge"), ("particle_0001.tif", "DuplicateId"), ("escape.png", "OutsideRunFolder"),
                     ("particle_0002.png", "BadSize"), ("outside.png", "OutsideRunFolder"),
                 })
        {
            Assert.Contains(result.Output.Split('\n'), line => line.Contains(file) && line.Contains(reason));
        }
        var status = await host.Grains.GetGrain<IInstrumentRunGrain>("FC-1:sample-1").GetStatus();
        Assert.Equal(11, status.Recorded);   // 12 good images, less particle_0002 whose listed size is negative
        Assert.Equal(0, status.Failed);
        var profile = await host.Grains.GetGrain<ILotGrain>("LOT-MIX").GetProfile();
        Assert.Equal(11, profile!.Particles);

        // Sizes: from the list where it gives one, measured from the image's mask otherwise.
        using var store = SqlParticleStore.Sqlite(Path.Combine(DataDirectory, "particles.db"));
        var stored = await store.ParticlesOfRunAsync("FC-1:sample-1");
        var listed = Assert.Single(stored, p => p.SizeSource == "instrument");
        Assert.Equal(("particle_0003", 14.5), (listed.ParticleId, listed.EcdMicrometres!.Value));
        Assert.All(stored.Where(p => p != listed), p =>
        {
            Assert.Equal("image", p.SizeSource);
            Assert.InRange(p.EcdMicrometres!.Value, 1, 40 * 0.7 * 1.5);
            Assert.InRange(p.Shape!.Circularity!.Value, 0, 1);
            Assert.InRange(p.Shape!.AspectRatio!.Value, 0, 1);
        });
    }

    [Fact]
    public async Task An_image_folder_without_a_calibration_is_warned_at_ingest_and_its_lot_passes_only_if_the_worst_case_does()
    {
        await using var host = await StartHostAsync();
        string run = Path.Combine(_work.Path, "no-sizes");
        WriteGoodImages(run, 12, 300);
        string gateway = $"127.0.0.1:{host.GatewayPort}";

        // 12 unsized particles in 0.01 mL of a 1 mL container: up to 1200 per container >= 25 um, over the 600 allowed.
        var small = CliProcess.Run(_work.Path, host.ClientEnvironment, "ingest", run, "--lot", "LOT-NOSIZE", "--instrument", "FC-1", "--volume-ml", "0.01",
            "--container-ml", "1", "--cluster", gateway);
        Assert.True(small.ExitCode == 0, small.ToString());
        Assert.Contains("warning: FC-1:no-sizes: sizes unknown: give --um-per-pixel (12 of 12 particles", small.Error);
        Assert.True(small.Error.IndexOf("sizes unknown", StringComparison.Ordinal) < small.Error.IndexOf("sent 12 particles", StringComparison.Ordinal),
            $"the warning comes at the start of the run, before the particles are sent:\n{small.Error}");
        Assert.Contains("warning: sizes unknown", small.Output);   // and in the run's report

        using (var lot = JsonDocument.Parse(await host.Http.GetStringAsync("/lots/LOT-NOSIZE")))
        {
            var verdict = lot.RootElement.GetProperty("verdict");
            Assert.Equal("NotAssessable", verdict.GetProperty("outcome").GetString());
            Assert.Equal(12, lot.RootElement.GetProperty("withoutSize").GetInt32());
            // Bubbles are never counted, so the reason names the unsized particles that the networks did not call bubbles.
            Assert.Contains(verdict.GetProperty("reasons").EnumerateArray(), r => Regex.IsMatch(r.GetString()!, @"^\d+ counted particles? ha(s|ve) no size")
                && r.GetString()!.Contains("--um-per-pixel"));
        }
        var listed = await host.Http.GetFromJsonAsync<JsonElement>("/lots?verdict=NotAssessable");
        Assert.Contains(listed.GetProperty("lots").EnumerateArray(), l => l.GetProperty("lot").GetString() == "LOT-NOSIZE"
            && l.GetProperty("verdictReasons").GetArrayLength() > 0);
        var text = CliProcess.Run(_work.Path, "lot", "LOT-NOSIZE", "--data-dir", DataDirectory);
        Assert.Contains("Verdict: NOT ASSESSABLE", text.Output);

        // The same folder as a sample of 1 mL: even with all 12 at >= 25 um the lot is within both limits, so it passes and says so.
        var large = CliProcess.Run(_work.Path, host.ClientEnvironment, "ingest", run, "--lot", "LOT-NOSIZE-BIG", "--instrument", "FC-1", "--sample", "no-sizes-1ml",
            "--volume-ml", "1", "--container-ml", "1", "--cluster", gateway);
        Assert.True(large.ExitCode == 0, large.ToString());
        Assert.Contains("sizes unknown: give --um-per-pixel", large.Error);
        var profile = (await host.Grains.GetGrain<ILotGrain>("LOT-NOSIZE-BIG").GetProfile())!;
        Assert.Equal(VerdictOutcome.Pass, profile.Verdict.Outcome);
        Assert.Contains(profile.Verdict.Reasons, r => Regex.IsMatch(r, @"^\d+ counted particles? had no size"));

        // With a calibration the particles are sized from their images and nothing is said.
        var calibrated = CliProcess.Run(_work.Path, host.ClientEnvironment, "ingest", run, "--lot", "LOT-SIZED", "--instrument", "FC-1", "--sample", "sized",
            "--um-per-pixel", "0.7", "--volume-ml", "0.01", "--container-ml", "1", "--cluster", gateway);
        Assert.True(calibrated.ExitCode == 0, calibrated.ToString());
        Assert.DoesNotContain("sizes unknown", calibrated.Error + calibrated.Output);
        Assert.Equal(0, (await host.Grains.GetGrain<ILotGrain>("LOT-SIZED").GetProfile())!.WithoutSize);
    }

    [Fact]
    public async Task Killing_ingest_part_way_and_running_it_again_records_exactly_the_folder()
    {
        await using var host = await StartHostAsync();
        string run = Path.Combine(_work.Path, "sample-big");
        WriteGoodImages(run, 480, 5000);
        string[] arguments = ["ingest", run, "--lot", "LOT-K", "--instrument", "MFI-1", "--cluster", $"127.0.0.1:{host.GatewayPort}"];
        var grain = host.Grains.GetGrain<IInstrumentRunGrain>("MFI-1:sample-big");

        using (var first = new CliProcess(CliProcess.Program, host.ClientEnvironment, _work.Path, arguments))
        {
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while ((await grain.GetStatus()).Recorded == 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
            first.Kill();
        }
        int afterKill = (await grain.GetStatus()).Recorded;
        Assert.InRange(afterKill, 1, 479);

        var second = CliProcess.Run(_work.Path, host.ClientEnvironment, arguments);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("already recorded before", second.Output);
        var status = await grain.GetStatus();
        Assert.Equal((480, 480), (status.Recorded, status.Classified));

        var third = CliProcess.Run(_work.Path, host.ClientEnvironment, arguments);
        Assert.Contains("(0 now, 480 already recorded before)", third.Output);
        Assert.Equal(480, (await grain.GetStatus()).Recorded);
    }

    [Fact]
    public async Task Watch_ingests_complete_runs_of_several_instruments_once_and_survives_its_own_restart()
    {
        await using var host = await StartHostAsync();
        string exports = Path.Combine(_work.Path, "exports");
        WriteGoodImages(Path.Combine(exports, "flowcam-run-1"), 10, 1);
        File.WriteAllText(Path.Combine(exports, "flowcam-run-1", "run.json"), """{"lot":"LOT-W","instrument":"FC-1","volumeMl":0.5,"umPerPixel":0.7}""");
        WriteGoodImages(Path.Combine(exports, "mfi-run-1"), 8, 50);
        File.WriteAllText(Path.Combine(exports, "mfi-run-1", "run.json"), """{"lot":"LOT-W","instrument":"MFI-1","volumeMl":0.5}""");
        WriteGoodImages(Path.Combine(exports, "still-copying"), 5, 80);                         // no run.json yet
        WriteGoodImages(Path.Combine(exports, "bad-manifest"), 3, 90);
        File.WriteAllText(Path.Combine(exports, "bad-manifest", "run.json"), """{"instrument":"FC-2"}""");

        string[] arguments = ["watch", exports, "--once", "--settle-seconds", "0", "--cluster", $"127.0.0.1:{host.GatewayPort}"];
        var first = CliProcess.Run(_work.Path, host.ClientEnvironment, arguments);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("needs \"lot\" and \"instrument\"", first.Error);
        Assert.Contains("mfi-run-1: sizes unknown: give --um-per-pixel", first.Error);     // its run.json has no umPerPixel
        Assert.DoesNotContain("flowcam-run-1: sizes unknown", first.Error);
        Assert.Equal(18, (await host.Grains.GetGrain<ILotGrain>("LOT-W").GetProfile())!.Particles);
        Assert.Equal(RunState.Unknown, (await host.Grains.GetGrain<IInstrumentRunGrain>("FC-1:still-copying").GetStatus()).State);

        var second = CliProcess.Run(_work.Path, host.ClientEnvironment, arguments);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.DoesNotContain("run FC-1:flowcam-run-1", second.Output);   // noted as done: not sent again
        Assert.Equal(18, (await host.Grains.GetGrain<ILotGrain>("LOT-W").GetProfile())!.Particles);
    }

    [Fact]
    public async Task The_instrument_client_sends_over_HTTP_with_an_instrument_token_as_over_the_gateways_and_resumes()
    {
        await using var host = await StartHostAsync();
        var store = (IParticleStore)host.App.Services.GetService(typeof(IParticleStore))!;
        string instrumentToken = (await ParticleGrid.Host.Auth.AccessTokens.CreateAsync(store, "instrument", "instrument PC")).Token;
        string qaToken = (await ParticleGrid.Host.Auth.AccessTokens.CreateAsync(store, "qa", "a QA reader")).Token;
        string site = host.Http.BaseAddress!.ToString();
        string run = Path.Combine(_work.Path, "sample-pc");
        WriteGoodImages(run, 20, 700);
        byte[] good = File.ReadAllBytes(Path.Combine(run, "particle_0000.png"));
        File.WriteAllBytes(Path.Combine(run, "truncated.png"), good[..(good.Length / 2)]);
        string[] Ingest(string sample, params string[] to) =>
            ["ingest", run, "--lot", "LOT-PC", "--instrument", "FC-7", "--sample", sample, "--volume-ml", "0.2", "--um-per-pixel", "0.7", .. to];
        var withToken = new Dictionary<string, string> { ["PARTICLEGRID_TOKEN"] = instrumentToken };

        var overHttp = CliProcess.RunIngestClient(_work.Path, withToken, Ingest("over-http", "--site", site));
        Assert.True(overHttp.ExitCode == 0, overHttp.ToString());
        Assert.Contains($"into site {site.TrimEnd('/')}", overHttp.Error);
        var status = await host.Grains.GetGrain<IInstrumentRunGrain>("FC-7:over-http").GetStatus();
        Assert.Equal((20, 20, 1, RunState.Completed), (status.Recorded, status.Classified, status.Rejected, status.State));

        // The same folder through the gateway silos: the same report, run id aside.
        var overGateways = CliProcess.RunIngestClient(_work.Path, withToken, Ingest("over-gateways", "--cluster", $"127.0.0.1:{host.GatewayPort}"));
        Assert.True(overGateways.ExitCode == 0, overGateways.ToString());
        Assert.Equal(overGateways.Output.Replace("over-gateways", "over-http"), overHttp.Output);

        // Again over HTTP: the run says what it has, so nothing is sent or counted twice.
        var again = CliProcess.RunIngestClient(_work.Path, withToken, Ingest("over-http", "--site", site));
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("(0 now, 20 already recorded before)", again.Output);
        status = await host.Grains.GetGrain<IInstrumentRunGrain>("FC-7:over-http").GetStatus();
        Assert.Equal((20, 1), (status.Recorded, status.Rejected));

        // No token, or one that may not ingest: one line and exit code 1, as for any user error.
        var without = CliProcess.RunIngestClient(_work.Path, new Dictionary<string, string> { ["PARTICLEGRID_TOKEN"] = "" }, Ingest("no-token", "--site", site));
        Assert.True(without.ExitCode == 1 && without.Error.Contains("error: --site needs an instrument token in PARTICLEGRID_TOKEN"), without.ToString());
        var reader = CliProcess.RunIngestClient(_work.Path, new Dictionary<string, string> { ["PARTICLEGRID_TOKEN"] = qaToken }, Ingest("qa-token", "--site", site));
        Assert.True(reader.ExitCode == 1 && reader.Error.Contains("refused the token"), reader.ToString());
        Assert.Equal(RunState.Unknown, (await host.Grains.GetGrain<IInstrumentRunGrain>("FC-7:qa-token").GetStatus()).State);

        // Issue 17: a run sets its lot's container volume once and never changes it; over HTTP and over the gateways
        // alike, a different volume is one line and exit code 1, the run is not started and the lot keeps its volume.
        var volumeSet = CliProcess.RunIngestClient(_work.Path, withToken, Ingest("volume-set", "--site", site, "--container-ml", "2"));
        Assert.True(volumeSet.ExitCode == 0, volumeSet.ToString());
        foreach (var (sample, to) in new[] { ("volume-http", new[] { "--site", site }), ("volume-gateways", new[] { "--cluster", $"127.0.0.1:{host.GatewayPort}" }) })
        {
            var changed = CliProcess.RunIngestClient(_work.Path, withToken, Ingest(sample, [.. to, "--container-ml", "5"]));
            Assert.True(changed.ExitCode == 1 && changed.Error.Contains("container volume 2 mL -> 5 mL"), changed.ToString());
            Assert.Equal(RunState.Unknown, (await host.Grains.GetGrain<IInstrumentRunGrain>($"FC-7:{sample}").GetStatus()).State);
        }
        Assert.Equal(2.0, (await store.GetLotAsync("LOT-PC"))!.ContainerVolumeMl);

        // The two questions the client asks over HTTP besides starting, sending and completing.
        var unrecorded = await host.Http.PostAsJsonAsync("/runs/FC-7:over-http/unrecorded", new { particleIds = new[] { "particle_0000", "particle_9999" } });
        using (var answer = JsonDocument.Parse(await unrecorded.Content.ReadAsStringAsync()))
            Assert.Equal(["particle_9999"], answer.RootElement.GetProperty("unrecorded").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await host.Http.PostAsJsonAsync("/runs/FC-7:over-http/unrecorded", new { })).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest,
            (await host.Http.PostAsJsonAsync("/runs/FC-7:over-http/rejections", new { items = new[] { new { source = "x.png" } } })).StatusCode);
    }

    [Fact]
    public async Task Instruments_without_dotnet_post_runs_over_HTTP_and_bad_particles_come_back_rejected()
    {
        await using var host = await StartHostAsync();
        var start = await host.Http.PostAsJsonAsync("/runs/http-run-1", new { lotId = "LOT-H", instrumentId = "FC-9", analysedVolumeMl = 0.25, containerVolumeMl = 1.0 });
        Assert.Equal(System.Net.HttpStatusCode.OK, start.StatusCode);
        using (var started = JsonDocument.Parse(await start.Content.ReadAsStringAsync()))
        {
            Assert.Equal("Open", started.RootElement.GetProperty("state").GetString());      // the run's status, as before
            Assert.StartsWith("sizes unknown: give --um-per-pixel", Assert.Single(started.RootElement.GetProperty("warnings").EnumerateArray()).GetString());
        }
        var calibrated = await host.Http.PostAsJsonAsync("/runs/http-run-3", new { lotId = "LOT-H3", instrumentId = "FC-9", micrometresPerPixel = 0.7 });
        using (var withCalibration = JsonDocument.Parse(await calibrated.Content.ReadAsStringAsync()))
            Assert.Equal(0, withCalibration.RootElement.GetProperty("warnings").GetArrayLength());

        var (png, _) = TinyModels.Particle(ParticleType.Glass, 7);
        var batch = new
        {
            particles = new object[]
            {
                new { particleId = "1", image = Convert.ToBase64String(png), ecdMicrometres = 30.0 },
                new { particleId = "2", image = Convert.ToBase64String(png[..40]) },
                new { particleId = "3", image = "not base64 !" },
            },
        };
        var posted = await host.Http.PostAsJsonAsync("/runs/http-run-1/batches/b1", batch);
        using var response = JsonDocument.Parse(await posted.Content.ReadAsStringAsync());
        Assert.Equal(1, response.RootElement.GetProperty("receipt").GetProperty("appended").GetInt32());
        var rejected = response.RootElement.GetProperty("rejected").EnumerateArray().ToList();
        Assert.Equal(["2", "3"], rejected.Select(r => r.GetProperty("particleId").GetString()));
        Assert.Equal("CorruptImage", rejected[0].GetProperty("reason").GetString());
        Assert.Equal(0, response.RootElement.GetProperty("warnings").GetArrayLength());   // the one accepted particle has its size

        // The run's status carries its comparison with the model set's training data: one particle is too few to tell.
        using (var runJson = JsonDocument.Parse(await host.Http.GetStringAsync("/runs/http-run-1")))
        {
            var shift = Assert.Single(runJson.RootElement.GetProperty("domainShift").EnumerateArray());
            Assert.Equal((1, false), (shift.GetProperty("classified").GetInt32(), shift.GetProperty("alarm").GetBoolean()));
            Assert.Equal(JsonValueKind.Null, runJson.RootElement.GetProperty("domainShiftAlarm").ValueKind);
        }
        using (var lot = JsonDocument.Parse(await host.Http.GetStringAsync("/lots/LOT-H")))
        {
            Assert.Equal(JsonValueKind.Null, lot.RootElement.GetProperty("domainShiftAlarm").ValueKind);
            Assert.Single(lot.RootElement.GetProperty("domainShift").EnumerateArray());
        }

        Assert.Equal(System.Net.HttpStatusCode.OK, (await host.Http.PostAsJsonAsync("/runs/http-run-4", new { lotId = "LOT-H4", instrumentId = "FC-9" })).StatusCode);
        var unsized = await host.Http.PostAsJsonAsync("/runs/http-run-4/batches/b1",
            new { particles = new object[] { new { particleId = "4", image = Convert.ToBase64String(png) } } });
        using (var unsizedResponse = JsonDocument.Parse(await unsized.Content.ReadAsStringAsync()))
            Assert.StartsWith("sizes unknown: give --um-per-pixel (1 of 1 particles", Assert.Single(unsizedResponse.RootElement.GetProperty("warnings").EnumerateArray()).GetString());

        var replay = await host.Http.PostAsJsonAsync("/runs/http-run-1/batches/b1", batch);
        using var again = JsonDocument.Parse(await replay.Content.ReadAsStringAsync());
        Assert.Equal(0, again.RootElement.GetProperty("receipt").GetProperty("appended").GetInt32());

        var notStarted = await host.Http.PostAsJsonAsync("/runs/never-started/batches/b1", batch);
        Assert.Equal(System.Net.HttpStatusCode.Conflict, notStarted.StatusCode);
        Assert.Contains("was not started", await notStarted.Content.ReadAsStringAsync());
        var badStart = await host.Http.PostAsJsonAsync("/runs/http-run-2", new { lotId = "LOT H!", instrumentId = "FC-9" });
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, badStart.StatusCode);

        Assert.Equal(System.Net.HttpStatusCode.OK, (await host.Http.PostAsync("/runs/http-run-1/complete", null)).StatusCode);
        using var status = JsonDocument.Parse(await host.Http.GetStringAsync("/runs/http-run-1"));
        Assert.Equal(1, status.RootElement.GetProperty("recorded").GetInt32());
        Assert.Equal("Completed", status.RootElement.GetProperty("state").GetString());
    }

    /// <summary>
    /// The uploader streams (issue 16 part 5): a run whose images add up to far more than the client may hold goes
    /// through particlegrid-ingest with its memory flat. Each image is a real particle PNG padded with an ancillary
    /// chunk, so the run is big in bytes while classifying it stays quick; the client's peak RSS is measured from /proc.
    /// A client that held the whole run would need more than the run's bytes.
    /// </summary>
    [Fact]
    public async Task A_run_far_bigger_than_the_clients_memory_goes_through_the_instrument_client_with_flat_memory()
    {
        if (!OperatingSystem.IsLinux()) return;  // peak RSS is read from /proc
        // Padding under the 85 KB large-object threshold, as real particle images are: LOH garbage waits for a full GC.
        const int Particles = 6000, Padding = 60 * 1024;
        await using var host = await StartHostAsync();
        string run = Path.Combine(_work.Path, "big-run");
        Directory.CreateDirectory(run);
        byte[] pad = PaddingChunk(Padding);
        var types = ParticleTypes.StudyTypes;
        long runBytes = 0;
        for (int i = 0; i < Particles; i++)
        {
            byte[] png = TinyModels.Particle(types[i % 4], 5000 + i % 50).Png;  // 50 drawings serve: each file is read on its own
            byte[] padded = [.. png.AsSpan(0, png.Length - 12), .. pad, .. png.AsSpan(png.Length - 12)];  // before IEND
            File.WriteAllBytes(Path.Combine(run, $"particle_{i:D5}.png"), padded);
            runBytes += padded.Length;
        }

        using var client = new CliProcess(CliProcess.IngestClient, host.ClientEnvironment, _work.Path, "ingest", run, "--lot", "LOT-BIG", "--instrument", "FC-9",
            "--volume-ml", "0.2", "--um-per-pixel", "0.7", "--cluster", $"127.0.0.1:{host.GatewayPort}");
        var result = client.WaitForExit(TimeSpan.FromMinutes(4));

        Assert.True(result.ExitCode == 0, result.ToString());
        var status = await host.Grains.GetGrain<IInstrumentRunGrain>("FC-9:big-run").GetStatus();
        Assert.Equal((Particles, RunState.Completed), (status.Recorded, status.State));
        long peak = client.PeakResidentBytes;
        Assert.True(peak > 0, "no peak RSS was read from /proc");
        output.WriteLine($"particlegrid-ingest: {Particles} particles, {runBytes / (1024 * 1024)} MB of images, peak RSS {peak / (1024 * 1024)} MB");
        // The run is ~360 MB of images (the uploader before streaming peaked near 500 MB); the client, a .NET Orleans client
        // of ~100 MB on its own, now stays far below it (~200 MB here). The bound leaves room for another machine's GC
        // (more cores, other heap sizing) while a client holding the run could never meet it: 4/5 of the run's bytes,
        // and the issue's 300 MB for an instrument client.
        Assert.True(peak < Math.Min(runBytes * 4 / 5, 300L * 1024 * 1024),
            $"particlegrid-ingest peaked at {peak / (1024 * 1024)} MB RSS for a run of {runBytes / (1024 * 1024)} MB of images");
    }

    /// <summary>A private ancillary PNG chunk ("pgPd", which decoders skip) of <paramref name="bytes"/> zeros, with its CRC.</summary>
    private static byte[] PaddingChunk(int bytes)
    {
        byte[] typeAndData = new byte[4 + bytes];
        "pgPd"u8.CopyTo(typeAndData);
        var chunk = new byte[4 + typeAndData.Length + 4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(chunk, bytes);
        typeAndData.CopyTo(chunk, 4);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(4 + typeAndData.Length), Crc32(typeAndData));
        return chunk;
    }

    /// <summary>A valid PNG header (signature, IHDR with its CRC) claiming a size no particle image has; no pixels follow.</summary>
    private static byte[] PngClaiming(int width, int height)
    {
        var ihdr = new byte[17];
        "IHDR"u8.CopyTo(ihdr);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), width);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(8), height);
        ihdr[12] = 8; ihdr[13] = 0;  // 8-bit grey
        var png = new List<byte>([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]);
        png.AddRange(ihdr);
        uint crc = Crc32(ihdr);
        png.AddRange([(byte)(crc >> 24), (byte)(crc >> 16), (byte)(crc >> 8), (byte)crc]);
        return [.. png];
    }

    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    public void Dispose() => _work.Dispose();
}
