using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using ParticleGrid.Abstractions;
using ParticleGrid.Cluster.Tests.Support;
using ParticleGrid.Domain;
using ParticleGrid.Host.Auth;
using ParticleGrid.Storage;
using Xunit.Abstractions;

namespace ParticleGrid.Cluster.Tests;

/// <summary>
/// Issue 16: a lot's particle lists and training set are written to the response as the store reads them. They say
/// what the exports built in memory said, and a lot of 100k particles goes out without the server's memory growing
/// with it.
/// </summary>
[Collection(TinyModelsCollection.Name)]
public sealed class ExportTests(TinyModels models, ITestOutputHelper output) : IAsyncLifetime
{
    private const int LargeLotParticles = 100_000;
    private const int LargeLotReviewed = 2_000;
    private const int ReviewedImageBytes = 8 * 1024;

    private readonly TemporaryDirectory _data = new();
    private RunningHost _host = null!;
    private HttpClient _qa = null!;

    public async Task InitializeAsync()
    {
        _host = await RunningHost.StartAsync(o => o.DataDirectory = _data.Path);
        var store = (IParticleStore)_host.App.Services.GetService(typeof(IParticleStore))!;
        _qa = _host.ClientWith((await AccessTokens.CreateAsync(store, Roles.Qa, "Dr. QA")).Token);
    }

    [Fact]
    public async Task Streamed_exports_say_what_the_exports_built_in_memory_said()
    {
        await TestClusters.ActivateAsync(_host.Grains, models.Directories);
        await _host.Grains.GetGrain<ILotGrain>("LOT-E1").Describe(new LotDescriptor(2.0, "mAb-7"));
        foreach (var (run, count, seed) in new[] { ("e1-a", 24, 1), ("e1-b", 12, 2) })
        {
            var grain = _host.Grains.GetGrain<IInstrumentRunGrain>(run);
            await grain.Start(new RunDescriptor("LOT-E1", "FC-1", 0.5, count));
            await SimulatedInstrument.SubmitAsync(grain, SimulatedInstrument.Particles("p", count, seed), batchSize: 12);
        }
        // p00003 is reviewed twice (the second label stands, where its first review was), then e1-b's p00001 once.
        await Review("e1-a", "p00003", "glass", "facets, and a comma");
        await Review("e1-b", "p00001", "protein", "translucent \"flake\"");
        await Review("e1-a", "p00003", "bubble", "round, bright centre");

        var audit = JsonDocument.Parse(await _qa.GetStringAsync("/lots/LOT-E1/audit")).RootElement.Clone();
        string? Previous(long sequence) => audit.EnumerateArray().Single(e => e.GetProperty("sequence").GetInt64() == sequence).GetProperty("previousLabel").GetString();

        // The pages the exports were built from: all of the lot's particles, as the materialised export paged through them.
        var pages = new List<JsonElement>();
        for (int offset = 0; ; offset += 10)
        {
            var page = JsonDocument.Parse(await _qa.GetStringAsync($"/lots/LOT-E1/particles?limit=10&offset={offset}")).RootElement.Clone();
            pages.AddRange(page.GetProperty("particles").EnumerateArray());
            if (page.GetProperty("particles").GetArrayLength() < 10) break;
        }
        Assert.Equal(36, pages.Count);

        var json = await _qa.GetAsync("/lots/LOT-E1/particles.json");
        Assert.Equal("application/json; charset=utf-8", json.Content.Headers.ContentType!.ToString());
        Assert.Equal("[" + string.Join(",", pages.Select(p => p.GetRawText())) + "]", await json.Content.ReadAsStringAsync());

        var csv = await _qa.GetAsync("/lots/LOT-E1/particles.csv");
        Assert.Equal("text/csv; charset=utf-8", csv.Content.Headers.ContentType!.ToString());
        Assert.Equal(MaterialisedParticlesCsv(pages), Encoding.UTF8.GetString(await csv.Content.ReadAsByteArrayAsync()));

        var zipResponse = await _qa.GetAsync("/lots/LOT-E1/training-set.zip");
        Assert.Equal("application/zip", zipResponse.Content.Headers.ContentType!.ToString());
        Assert.Equal("LOT-E1-training-set.zip", zipResponse.Content.Headers.ContentDisposition!.FileName);
        using var zip = new ZipArchive(new MemoryStream(await zipResponse.Content.ReadAsByteArrayAsync()));
        Assert.Equal(["bubble/e1-a_p00003.png", "protein/e1-b_p00001.png", "manifest.json"], zip.Entries.Select(e => e.FullName));
        foreach (var (entry, run, particle) in new[] { (zip.Entries[0], "e1-a", "p00003"), (zip.Entries[1], "e1-b", "p00001") })
        {
            using var image = new MemoryStream();
            await using (var stream = entry.Open()) await stream.CopyToAsync(image);
            Assert.Equal(await _qa.GetByteArrayAsync($"/runs/{run}/particles/{particle}/image?original=true"), image.ToArray());
        }
        using var manifest = JsonDocument.Parse(zip.Entries[2].Open());
        Assert.Equal("particlegrid-training-set/1", manifest.RootElement.GetProperty("format").GetString());
        var listed = manifest.RootElement.GetProperty("particles").EnumerateArray().ToList();
        Assert.Equal([("bubble/e1-a_p00003.png", "bubble", "glass", 3L), ("protein/e1-b_p00001.png", "protein", Previous(2), 2L)],
            listed.Select(p => (p.GetProperty("file").GetString(), p.GetProperty("label").GetString(), p.GetProperty("previousLabel").GetString(),
                p.GetProperty("reviewSequence").GetInt64())));
        Assert.Equal("round, bright centre", listed[0].GetProperty("reason").GetString());

        foreach (var path in new[] { "/lots/NOPE/particles.json", "/lots/NOPE/particles.csv", "/lots/NOPE/training-set.zip" })
        {
            var missing = await _qa.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Contains("lot 'NOPE' is not known", await missing.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task A_lot_of_100k_particles_is_exported_without_the_server_holding_it()
    {
        await FillLargeLotAsync("LOT-BIG", "big-a");

        var csv = await MeasureAsync("/lots/LOT-BIG/particles.csv", "\n"u8.ToArray());
        Assert.Equal(LargeLotParticles + 1, csv.Matches);
        var json = await MeasureAsync("/lots/LOT-BIG/particles.json", "\"particleId\":"u8.ToArray());
        Assert.Equal(LargeLotParticles, json.Matches);
        var zip = await MeasureAsync("/lots/LOT-BIG/training-set.zip", "PK\u0001\u0002"u8.ToArray());   // one central directory record per entry
        Assert.Equal(LargeLotReviewed + 1, zip.Matches);

        foreach (var (name, m) in new[] { ("particles.csv", csv), ("particles.json", json), ("training-set.zip", zip) })
        {
            output.WriteLine($"{name}: {m.Bytes / 1048576.0:F1} MiB in {m.Elapsed.TotalSeconds:F2} s ({m.Rows / m.Elapsed.TotalSeconds:F0} rows/s); " +
                $"live managed memory grew at most {m.PeakGrowth / 1048576.0:F1} MiB over {m.Baseline / 1048576.0:F0} MiB; {m.Allocated / 1048576.0:F0} MiB allocated in all");
            // Built in memory, the export alone was at least its own size (a zip's bytes) or twice it (a string's UTF-16),
            // besides every row's view; streamed, what grows is buffers and the noise of a silo at work (3-5 MiB here).
            Assert.True(m.PeakGrowth < m.Bytes / 2, $"{name}: live memory grew {m.PeakGrowth:N0} bytes for an export of {m.Bytes:N0}");
        }
        output.WriteLine($"test process peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB");
    }

    private async Task Review(string run, string particle, string label, string reason)
    {
        var response = await _qa.PostAsJsonAsync($"/runs/{run}/particles/{particle}/review", new { label, reason });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private sealed record Measured(long Bytes, long Matches, int Rows, TimeSpan Elapsed, long Baseline, long PeakGrowth, long Allocated);

    /// <summary>
    /// Downloads an export twice: once for the time, once while the process's live managed memory is sampled (after a
    /// full collection, so garbage does not count) every 100 ms. The server runs in this process, so its memory is in
    /// the samples, and so is the client's, which keeps nothing.
    /// </summary>
    private async Task<Measured> MeasureAsync(string path, byte[] pattern)
    {
        // Once unwatched, for the time: a full collection every 100 ms slows the export itself.
        var timed = await DownloadAsync(path, pattern);

        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        long peak = baseline;
        using var done = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true);
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: false));
                try { await Task.Delay(100, done.Token); } catch (OperationCanceledException) { }
            }
        });

        var (bytes, matches, _) = await DownloadAsync(path, pattern);
        await done.CancelAsync();
        await sampler;
        int rows = path.EndsWith(".zip", StringComparison.Ordinal) ? LargeLotReviewed : LargeLotParticles;
        return new Measured(bytes, matches, rows, timed.Elapsed, baseline, peak - baseline, GC.GetTotalAllocatedBytes(precise: true) - allocated);
    }

    /// <summary>Downloads an export into nothing, counting its bytes and the occurrences of <paramref name="pattern"/>.</summary>
    private async Task<(long Bytes, long Matches, TimeSpan Elapsed)> DownloadAsync(string path, byte[] pattern)
    {
        var clock = Stopwatch.StartNew();
        using var response = await _qa.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[81920 + pattern.Length];
        long bytes = 0, matches = 0;
        int carried = 0, read;
        while ((read = await body.ReadAsync(buffer.AsMemory(carried, 81920))) > 0)
        {
            bytes += read;
            var window = buffer.AsSpan(0, carried + read);
            for (int at; (at = window.IndexOf(pattern)) >= 0; window = window[(at + pattern.Length)..]) matches++;
            // Keep the last bytes in case a match straddles two reads (never a whole match: it was counted).
            carried = Math.Min(pattern.Length - 1, window.Length);
            window[^carried..].CopyTo(buffer);
        }
        return (bytes, matches, clock.Elapsed);
    }

    /// <summary>
    /// A large lot written straight into the store's SQLite file (the classification path would take hours here): one
    /// run of <see cref="LargeLotParticles"/> particles with three votes each, <see cref="LargeLotReviewed"/> of them
    /// reviewed, with an image of random bytes each (so the zip cannot shrink them).
    /// </summary>
    private async Task FillLargeLotAsync(string lot, string run)
    {
        await using var db = new SqliteConnection($"Data Source={Path.Combine(_data.Path, "particles.db")}");
        await db.OpenAsync();
        await using var transaction = (SqliteTransaction)await db.BeginTransactionAsync();
        SqliteCommand Command(string sql)
        {
            var command = db.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            return command;
        }
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using (var lotRow = Command($"INSERT INTO lots (lot_id, container_volume_ml, product) VALUES ('{lot}', 2.0, 'mAb-7')")) await lotRow.ExecuteNonQueryAsync();
        await using (var runRow = Command($"""
            INSERT INTO runs (run_id, lot_id, instrument_id, analysed_volume_ml, expected_particles, started_unix_ms, completed_unix_ms)
            VALUES ('{run}', '{lot}', 'FC-1', 0.5, {LargeLotParticles}, {now}, {now})
            """)) await runRow.ExecuteNonQueryAsync();

        var types = ParticleTypes.StudyTypes.Select(ParticleTypes.FolderName).ToArray();
        string votes = JsonSerializer.Serialize(new[] { "resnet50", "densenet201", "shufflenet_v2" }
            .Select(m => new ModelVote(m, "1.0.0", [0.7f, 0.1f, 0.1f, 0.1f], types[0], 0.2)), new JsonSerializerOptions(JsonSerializerDefaults.Web));
        await using var particle = Command("""
            INSERT INTO particles (run_id, particle_id, lot_id, instrument_id, image_sha256, ecd_um, particle_type, probability, uncertain,
                                   uncertain_reason, model_set_version, votes_json, failure, recorded_unix_ms, size_source, area_um2, aspect_ratio, circularity, mean_intensity)
            VALUES ($run, $id, $lot, 'FC-1', $sha, $ecd, $type, $probability, $uncertain, $reason, 'set-big', $votes, NULL, $now, 'instrument', $area, 0.8, 0.9, 120.5)
            """);
        var id = particle.Parameters.Add("$id", SqliteType.Text);
        var ecd = particle.Parameters.Add("$ecd", SqliteType.Real);
        var type = particle.Parameters.Add("$type", SqliteType.Text);
        var probability = particle.Parameters.Add("$probability", SqliteType.Real);
        var uncertain = particle.Parameters.Add("$uncertain", SqliteType.Integer);
        var reason = particle.Parameters.Add("$reason", SqliteType.Text);
        var sha = particle.Parameters.Add("$sha", SqliteType.Text);
        var area = particle.Parameters.Add("$area", SqliteType.Real);
        particle.Parameters.AddWithValue("$run", run);
        particle.Parameters.AddWithValue("$lot", lot);
        particle.Parameters.AddWithValue("$votes", votes);
        particle.Parameters.AddWithValue("$now", now);
        var random = new Random(16);
        for (int i = 0; i < LargeLotParticles; i++)
        {
            id.Value = $"p{i:D6}";
            ecd.Value = 2 + random.NextDouble() * 60;
            type.Value = types[i % types.Length];
            probability.Value = 0.5 + random.NextDouble() / 2;
            bool isUncertain = i % 7 == 0;
            uncertain.Value = isUncertain ? 1 : 0;
            reason.Value = isUncertain ? "below_threshold" : DBNull.Value;
            sha.Value = Convert.ToHexStringLower(BitConverter.GetBytes((long)i)).PadLeft(64, '0');
            area.Value = random.NextDouble() * 500;
            await particle.ExecuteNonQueryAsync();
        }

        // Reviews straight into the trail (their hashes are not a chain: only the export reads them here).
        await using var review = Command("""
            INSERT INTO reviews (sequence, lot_id, run_id, particle_id, reviewer, at_unix_ms, previous_label, label, reason, previous_hash, hash)
            VALUES ($sequence, $lot, $run, $id, 'Dr. QA', $now, $previous, $label, 'checked by eye', 'x', 'x')
            """);
        await using var image = Command("INSERT INTO particle_images (run_id, particle_id, image) VALUES ($run, $id, $image)");
        var pixels = new byte[ReviewedImageBytes];
        for (int i = 0; i < LargeLotReviewed; i++)
        {
            int index = i * (LargeLotParticles / LargeLotReviewed);
            review.Parameters.Clear();
            review.Parameters.AddWithValue("$sequence", i + 1);
            review.Parameters.AddWithValue("$lot", lot);
            review.Parameters.AddWithValue("$run", run);
            review.Parameters.AddWithValue("$id", $"p{index:D6}");
            review.Parameters.AddWithValue("$now", now);
            review.Parameters.AddWithValue("$previous", types[index % types.Length]);
            review.Parameters.AddWithValue("$label", types[(index + 1) % types.Length]);
            await review.ExecuteNonQueryAsync();
            random.NextBytes(pixels);
            pixels[0] = 0x89; pixels[1] = 0x50; pixels[2] = 0x4E; pixels[3] = 0x47;   // named .png, as a PNG's first bytes make it
            image.Parameters.Clear();
            image.Parameters.AddWithValue("$run", run);
            image.Parameters.AddWithValue("$id", $"p{index:D6}");
            image.Parameters.AddWithValue("$image", pixels);
            await image.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
    }

    /// <summary>particles.csv as it was built before issue 16 (QaApi's Exports.ParticlesCsv), from the particles' JSON.</summary>
    private static string MaterialisedParticlesCsv(IEnumerable<JsonElement> particles)
    {
        var csv = new StringBuilder("run_id,particle_id,lot_id,instrument_id,type,classified_type,reviewed_label,probability,uncertain,uncertain_reason,ecd_um,size_source,aspect_ratio,circularity,model_set_version,image_sha256,failure\n");
        foreach (var p in particles)
        {
            string? S(string name) => p.GetProperty(name).ValueKind == JsonValueKind.Null ? null : p.GetProperty(name).GetString();
            string Number(string name) => p.GetProperty(name).ValueKind == JsonValueKind.Null ? "" : p.GetProperty(name).GetDouble().ToString("G10", CultureInfo.InvariantCulture);
            csv.AppendLine(Row(S("runId"), S("particleId"), S("lotId"), S("instrumentId"), S("type"), S("classifiedType"), S("reviewedLabel"), Number("probability"),
                p.GetProperty("isUncertain").GetBoolean() ? "true" : "false", S("uncertainReason"), Number("ecdMicrometres"), S("sizeSource"), Number("aspectRatio"),
                Number("circularity"), S("modelSetVersion"), S("imageSha256"), S("failure")));
        }
        return csv.ToString();
    }

    private static string Row(params string?[] cells) => string.Join(',', cells.Select(c =>
        c is null ? "" : c.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{c.Replace("\"", "\"\"")}\"" : c));

    public async Task DisposeAsync()
    {
        _qa.Dispose();
        await _host.DisposeAsync();
        _data.Dispose();
    }
}
