using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ParticleGrid.Abstractions;
using ParticleGrid.Cluster.Tests.Support;
using ParticleGrid.Domain;
using ParticleGrid.Host.Auth;
using ParticleGrid.Storage;

namespace ParticleGrid.Cluster.Tests;

/// <summary>
/// Issue 16: a lot's particle lists and training set are written to the response as the store reads them. They say
/// what the exports built in memory said; a lot of 100k particles goes out without the server's memory growing with it
/// (<see cref="LargeExportTests"/>, which runs alone).
/// </summary>
[Collection(TinyModelsCollection.Name)]
public sealed class ExportTests(TinyModels models) : IAsyncLifetime
{
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

    private async Task Review(string run, string particle, string label, string reason)
    {
        var response = await _qa.PostAsJsonAsync($"/runs/{run}/particles/{particle}/review", new { label, reason });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
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
