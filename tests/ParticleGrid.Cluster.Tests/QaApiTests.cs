using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using ParticleGrid.Abstractions;
using ParticleGrid.Cluster.Tests.Support;
using ParticleGrid.Host.Auth;
using ParticleGrid.Training;
using ParticleGrid.Storage;
using SixLabors.ImageSharp;

namespace ParticleGrid.Cluster.Tests;

/// <summary>The QA API through the real host: every endpoint, role and error.</summary>
[Collection(TinyModelsCollection.Name)]
public sealed class QaApiTests(TinyModels models) : IAsyncLifetime
{
    private readonly TemporaryDirectory _data = new();
    private RunningHost _host = null!;
    private string _qa = "", _instrument = "";

    public async Task InitializeAsync()
    {
        _host = await RunningHost.StartAsync(o => o.DataDirectory = _data.Path);
        await TestClusters.ActivateAsync(_host.Grains, models.Directories);
        var store = (IParticleStore)_host.App.Services.GetService(typeof(IParticleStore))!;
        _qa = (await AccessTokens.CreateAsync(store, Roles.Qa, "Dr. QA")).Token;
        _instrument = (await AccessTokens.CreateAsync(store, Roles.Instrument, "FlowCAM PC")).Token;

        await _host.Grains.GetGrain<ILotGrain>("LOT-Q1").Describe(new LotDescriptor(2.0, "mAb-7"));
        await _host.Grains.GetGrain<ILotGrain>("LOT-Q2").Describe(new LotDescriptor(2.0, "mAb-7"));
        foreach (var (run, lot, seed) in new[] { ("q1-a", "LOT-Q1", 1), ("q1-b", "LOT-Q1", 2), ("q2-a", "LOT-Q2", 3) })
        {
            var grain = _host.Grains.GetGrain<IInstrumentRunGrain>(run);
            await grain.Start(new RunDescriptor(lot, "FC-1", 0.5, 24));
            await SimulatedInstrument.SubmitAsync(grain, SimulatedInstrument.Particles("p", 24, seed), batchSize: 12);
        }
    }

    private HttpClient Qa => _host.ClientWith(_qa);

    /// <summary>The lot ids of a lot list page, in its order.</summary>
    private static List<string> Lots(JsonElement page) => [.. page.GetProperty("lots").EnumerateArray().Select(l => l.GetProperty("lot").GetString()!)];

    private static async Task<JsonElement> Json(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    [Fact]
    public async Task Every_request_needs_a_token_with_the_right_role()
    {
        using var anonymous = _host.ClientWith(null);
        foreach (var path in new[] { "/lots", "/lots/LOT-Q1", "/runs/q1-a", "/runs/q1-a/particles", "/workers", "/openapi/v1.json", "/audit/verify", "/auth/me" })
        {
            var response = await anonymous.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{path}: {response.StatusCode}");
            Assert.Contains("bearer token is required", await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/ready")).StatusCode);
        var login = await anonymous.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Contains("<html", await login.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        using var forged = _host.ClientWith("pgt_not-a-real-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync("/lots")).StatusCode);

        using var instrument = _host.ClientWith(_instrument);
        Assert.Equal(HttpStatusCode.Forbidden, (await instrument.GetAsync("/lots")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await instrument.PostAsJsonAsync("/runs/ingest-only", new { lotId = "LOT-Q3", instrumentId = "FC-2" })).StatusCode);

        using var qa = Qa;
        Assert.Equal(HttpStatusCode.OK, (await qa.GetAsync("/lots")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await qa.PostAsJsonAsync("/tokens", new { role = "admin", name = "me" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await qa.GetAsync("/models")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await qa.PostAsJsonAsync("/runs/not-mine", new { lotId = "LOT-Q3", instrumentId = "FC-2" })).StatusCode);
        var me = await Json(await qa.GetAsync("/auth/me"));
        Assert.Equal(("Dr. QA", "qa"), (me.GetProperty("name").GetString(), me.GetProperty("role").GetString()));

        // An admin makes tokens; the new one works at once and is stored only as a hash.
        var made = await Json(await _host.Http.PostAsJsonAsync("/tokens", new { role = "qa", name = "second reviewer" }));
        string token = made.GetProperty("token").GetString()!;
        using var second = _host.ClientWith(token);
        Assert.Equal(HttpStatusCode.OK, (await second.GetAsync("/lots")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _host.Http.PostAsJsonAsync("/tokens", new { role = "superuser", name = "x" })).StatusCode);
        using var db = new SqliteConnection($"Data Source={Path.Combine(_data.Path, "particles.db")}");
        db.Open();
        using var tokens = db.CreateCommand();
        tokens.CommandText = "SELECT group_concat(sha256, ' ') FROM tokens";
        string stored = (string)tokens.ExecuteScalar()!;
        Assert.DoesNotContain(token, stored);
        Assert.Contains(AccessTokens.Sha256(token), stored);

        var openApi = await Json(await qa.GetAsync("/openapi/v1.json"));
        Assert.True(openApi.GetProperty("paths").TryGetProperty("/lots/{lot}/review", out _));
    }

    [Fact]
    public async Task Lots_are_listed_searched_profiled_traced_and_compared()
    {
        using var qa = Qa;
        // Most recent run first: LOT-Q2's run started after LOT-Q1's.
        var all = await Json(await qa.GetAsync("/lots"));
        Assert.Equal(2, all.GetProperty("total").GetInt32());
        Assert.Equal(["LOT-Q2", "LOT-Q1"], Lots(all));
        Assert.Equal(JsonValueKind.Null, all.GetProperty("next").ValueKind);
        var empty = await Json(await qa.GetAsync("/lots?product=no-such-product"));
        Assert.Equal((0, 0), (empty.GetProperty("total").GetInt32(), Lots(empty).Count));
        string today = DateTime.UtcNow.ToString("yyyy-MM-dd");
        Assert.Equal(["LOT-Q2", "LOT-Q1"], Lots(await Json(await qa.GetAsync($"/lots?product=mab-7&from={today}&to={today}"))));
        Assert.Empty(Lots(await Json(await qa.GetAsync("/lots?to=2020-01-01"))));
        var first = all.GetProperty("lots")[1];
        Assert.Equal(48, first.GetProperty("particles").GetInt32());
        Assert.Equal(2, first.GetProperty("runsInProgress").GetInt32());
        string verdict = first.GetProperty("verdict").GetString()!;
        Assert.Contains("LOT-Q1", Lots(await Json(await qa.GetAsync($"/lots?verdict={verdict}"))));

        // One lot a page: the first page's cursor gives the second, the second is the last; the total is on both.
        var page1 = await Json(await qa.GetAsync("/lots?product=mab-7&limit=1"));
        var page2 = await Json(await qa.GetAsync($"/lots?product=mab-7&limit=1&after={page1.GetProperty("next").GetString()}"));
        Assert.Equal(["LOT-Q2"], Lots(page1));
        Assert.Equal(["LOT-Q1"], Lots(page2));
        Assert.Equal((2, 2), (page1.GetProperty("total").GetInt32(), page2.GetProperty("total").GetInt32()));
        Assert.Equal(JsonValueKind.Null, page2.GetProperty("next").ValueKind);

        // The stored verdict is the one the profile judges (one read path), and a completed run changes both at once.
        Assert.Equal(verdict, (await Json(await qa.GetAsync("/lots/LOT-Q1"))).GetProperty("verdict").GetProperty("outcome").GetString());
        foreach (var run in new[] { "q1-a", "q1-b" }) await _host.Grains.GetGrain<IInstrumentRunGrain>(run).Complete();
        var completed = (await Json(await qa.GetAsync("/lots?product=mab-7"))).GetProperty("lots")[1];
        Assert.Equal(0, completed.GetProperty("runsInProgress").GetInt32());
        Assert.Equal((await Json(await qa.GetAsync("/lots/LOT-Q1"))).GetProperty("verdict").GetProperty("outcome").GetString(),
            completed.GetProperty("verdict").GetString());

        foreach (var (query, parameter) in new[] { ("verdict=maybe", "verdict"), ("from=yesterday", "from"), ("to=2024-13-45", "to"),
            ("limit=501", "limit"), ("limit=-1", "limit"), ("after=not-a-cursor", "after"), ("after=bm9uZQ", "after") })
        {
            var bad = await Json(await qa.GetAsync($"/lots?{query}"), HttpStatusCode.BadRequest);
            Assert.Contains($"'{parameter}'", bad.GetProperty("error").GetString());
        }

        var profile = await Json(await qa.GetAsync("/lots/LOT-Q1"));
        Assert.Equal(48, profile.GetProperty("particles").GetInt32());
        var runs = await Json(await qa.GetAsync("/lots/LOT-Q1/runs"));
        Assert.Equal(["q1-a", "q1-b"], runs.EnumerateArray().Select(r => r.GetProperty("runId").GetString()));

        var trace = await Json(await qa.GetAsync("/lots/LOT-Q1/traceability"));
        var ranked = trace.EnumerateArray().ToList();
        Assert.Equal("Artefact", ranked[^1].GetProperty("category").GetString());      // bubbles last: not the product
        Assert.All(ranked.SkipLast(1), t => Assert.NotEqual("Artefact", t.GetProperty("category").GetString()));
        var shares = ranked.SkipLast(1).Select(t => t.GetProperty("share").GetDouble()).ToList();
        Assert.Equal(shares.OrderDescending(), shares);
        Assert.Contains(ranked, t => t.GetProperty("type").GetString() == "protein" && t.GetProperty("category").GetString() == "Inherent"
            && t.GetProperty("sources").EnumerateArray().Any(s => s.GetString()!.Contains("freeze-thaw")));

        var trend = await Json(await qa.GetAsync("/products/mAb-7/trend"));
        Assert.Equal(2, trend.GetArrayLength());
        Assert.Equal("per container", trend[0].GetProperty("unit").GetString());

        foreach (var path in new[] { "/lots/NOPE", "/lots/NOPE/runs", "/lots/NOPE/traceability", "/lots/NOPE/particles", "/lots/NOPE/review",
                     "/lots/NOPE/audit", "/lots/NOPE/export.csv", "/lots/NOPE/particles.csv", "/lots/NOPE/training-set.zip", "/products/nope/trend" })
        {
            var missing = await Json(await qa.GetAsync(path), HttpStatusCode.NotFound);
            Assert.Contains("nope", missing.GetProperty("error").GetString()!, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Particles_come_in_filtered_pages_with_their_votes_images_and_model_version()
    {
        using var qa = Qa;
        var page = await Json(await qa.GetAsync("/runs/q1-a/particles?limit=5&offset=5"));
        Assert.Equal(24, page.GetProperty("total").GetInt32());
        var particles = page.GetProperty("particles").EnumerateArray().ToList();
        Assert.Equal(["p00005", "p00006", "p00007", "p00008", "p00009"], particles.Select(p => p.GetProperty("particleId").GetString()));
        Assert.All(particles, p =>
        {
            Assert.Equal(3, p.GetProperty("votes").GetArrayLength());
            Assert.StartsWith("set-", p.GetProperty("modelSetVersion").GetString());
            // What a reviewer may name it: the set's four classes, and fibre (what an "unknown" often is; issue 14).
            Assert.Equal(["bubble", "glass", "protein", "silicone_oil", "fibre"], p.GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
        });

        string type = particles[0].GetProperty("type").GetString()!;
        var ofType = await Json(await qa.GetAsync($"/lots/LOT-Q1/particles?type={type}&limit=500"));
        Assert.All(ofType.GetProperty("particles").EnumerateArray(), p => Assert.Equal(type, p.GetProperty("type").GetString()));
        var sized = await Json(await qa.GetAsync("/lots/LOT-Q1/particles?minEcd=10&maxEcd=30&limit=500"));
        Assert.All(sized.GetProperty("particles").EnumerateArray(), p => Assert.InRange(p.GetProperty("ecdMicrometres").GetDouble(), 10, 30));
        var uncertain = await Json(await qa.GetAsync("/lots/LOT-Q1/particles?uncertain=true&limit=0"));
        Assert.Empty(uncertain.GetProperty("particles").EnumerateArray());

        foreach (var (query, parameter) in new[] { ("limit=100000", "limit"), ("offset=-1", "offset"), ("minEcd=abc", "minEcd"), ("type=plasma", "type"), ("uncertain=perhaps", "uncertain") })
        {
            var bad = await Json(await qa.GetAsync($"/runs/q1-a/particles?{query}"), HttpStatusCode.BadRequest);
            Assert.Contains($"'{parameter}'", bad.GetProperty("error").GetString());
        }

        var detail = await Json(await qa.GetAsync("/runs/q1-a/particles/p00003"));
        Assert.Equal("FC-1", detail.GetProperty("particle").GetProperty("instrumentId").GetString());
        var full = await qa.GetAsync("/runs/q1-a/particles/p00003/image");
        Assert.Equal("image/png", full.Content.Headers.ContentType!.MediaType);
        var thumbnail = await qa.GetAsync("/runs/q1-a/particles/p00003/thumbnail");
        using (var image = Image.Load(await thumbnail.Content.ReadAsByteArrayAsync()))
        {
            Assert.True(image.Width <= 96 && image.Height <= 96);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await qa.GetAsync("/runs/q1-a/particles/p99999")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await qa.GetAsync("/runs/q1-a/particles/p99999/image")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await qa.GetAsync("/runs/no-run/particles")).StatusCode);
    }

    /// <summary>Issue 16: a page's <c>next</c> cursor walks the same particles as offsets do, filters and all.</summary>
    [Fact]
    public async Task Particle_pages_follow_a_cursor_as_well_as_an_offset()
    {
        using var qa = Qa;
        var totals = new HashSet<int>();
        async Task<List<string>> Walk(string path)
        {
            totals.Clear();
            var ids = new List<string>();
            string? next = null;
            do
            {
                var page = await Json(await qa.GetAsync(next is null ? path : $"{path}&after={next}"));
                ids.AddRange(page.GetProperty("particles").EnumerateArray().Select(p => $"{p.GetProperty("runId").GetString()}/{p.GetProperty("particleId").GetString()}"));
                totals.Add(page.GetProperty("total").GetInt32());
                next = page.GetProperty("next").GetString();
            }
            while (next is not null);
            Assert.Equal([ids.Count], totals);   // every page counts every match, as offset pages do
            return ids;
        }
        var byOffset = (await Json(await qa.GetAsync("/lots/LOT-Q1/particles?limit=500"))).GetProperty("particles").EnumerateArray()
            .Select(p => $"{p.GetProperty("runId").GetString()}/{p.GetProperty("particleId").GetString()}").ToList();
        Assert.Equal(48, byOffset.Count);
        Assert.Equal(byOffset, await Walk("/lots/LOT-Q1/particles?limit=7"));   // across the two runs, the last page short
        Assert.Equal(byOffset, await Walk("/lots/LOT-Q1/particles?limit=12")); // the last page full: one empty page after it

        string type = (await Json(await qa.GetAsync("/lots/LOT-Q1/particles?limit=1"))).GetProperty("particles")[0].GetProperty("type").GetString()!;
        var ofType = (await Json(await qa.GetAsync($"/lots/LOT-Q1/particles?type={type}&limit=500"))).GetProperty("particles").EnumerateArray()
            .Select(p => $"{p.GetProperty("runId").GetString()}/{p.GetProperty("particleId").GetString()}").ToList();
        Assert.Equal(ofType, await Walk($"/lots/LOT-Q1/particles?type={type}&limit=5"));

        var first = await Json(await qa.GetAsync("/runs/q1-a/particles?limit=5"));
        var second = await Json(await qa.GetAsync($"/runs/q1-a/particles?limit=5&after={first.GetProperty("next").GetString()}"));
        Assert.Equal(["p00005", "p00006", "p00007", "p00008", "p00009"], second.GetProperty("particles").EnumerateArray().Select(p => p.GetProperty("particleId").GetString()));
        Assert.Equal(0, second.GetProperty("offset").GetInt32());

        foreach (var (query, parameter) in new[] { ("after=not-a-cursor!", "after"), ("after=Zm9v", "after"), ($"offset=5&after={first.GetProperty("next").GetString()}", "offset") })
        {
            var bad = await Json(await qa.GetAsync($"/runs/q1-a/particles?{query}"), HttpStatusCode.BadRequest);
            Assert.Contains($"'{parameter}'", bad.GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task A_review_relabels_with_a_reason_into_a_tamper_evident_trail_that_profiles_and_training_sets_use()
    {
        using var qa = Qa;
        var before = await Json(await qa.GetAsync("/lots/LOT-Q2"));
        var all = (await Json(await qa.GetAsync("/lots/LOT-Q2/particles?limit=500"))).GetProperty("particles").EnumerateArray().ToList();
        var first = all[0];
        var second = all[1];
        string firstType = first.GetProperty("type").GetString()!;
        string other = first.GetProperty("classes").EnumerateArray().Select(c => c.GetString()!).First(c => c != firstType);
        string path = $"/runs/q2-a/particles/{first.GetProperty("particleId").GetString()}/review";

        var noReason = await Json(await qa.PostAsJsonAsync(path, new { label = other, reason = "  " }), HttpStatusCode.BadRequest);
        Assert.Contains("needs a reason", noReason.GetProperty("error").GetString());
        var unknownClass = await Json(await qa.PostAsJsonAsync(path, new { label = "plasma", reason = "looks odd" }), HttpStatusCode.BadRequest);
        Assert.Contains("not a class", unknownClass.GetProperty("error").GetString());
        var huge = await qa.PostAsJsonAsync(path, new { label = other, reason = new string('x', 40_000) });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await qa.PostAsJsonAsync("/runs/q2-a/particles/nope/review", new { label = other, reason = "r" })).StatusCode);
        using (var instrument = _host.ClientWith(_instrument))
            Assert.Equal(HttpStatusCode.Forbidden, (await instrument.PostAsJsonAsync(path, new { label = other, reason = "r" })).StatusCode);
        Assert.Empty((await Json(await qa.GetAsync("/lots/LOT-Q2/audit"))).EnumerateArray());   // nothing partial was stored

        var reviewed = await Json(await qa.PostAsJsonAsync(path, new { label = other, reason = "facets and straight edges" }));
        var entry = reviewed.GetProperty("review");
        Assert.Equal(("Dr. QA", firstType, other), (entry.GetProperty("reviewer").GetString(), entry.GetProperty("previousLabel").GetString(), entry.GetProperty("label").GetString()));
        Assert.Equal(AccessTokens.Sha256(_qa)[..12], entry.GetProperty("reviewerTokenId").GetString());   // the token's id beside its name
        await Json(await qa.PostAsJsonAsync($"/runs/q2-a/particles/{second.GetProperty("particleId").GetString()}/review",
            new { label = second.GetProperty("type").GetString(), reason = "confirmed: round with a bright centre" }));

        var after = await Json(await qa.GetAsync("/lots/LOT-Q2"));
        Assert.Equal(2, after.GetProperty("reviewed").GetInt32());
        int Count(JsonElement profile, string t) => profile.GetProperty("types").EnumerateArray().Single(x => x.GetProperty("type").GetString() == t).GetProperty("count").GetInt32();
        Assert.Equal(Count(before, other) + 1, Count(after, other));
        Assert.Equal(Count(before, firstType) - 1, Count(after, firstType));
        var audit = (await Json(await qa.GetAsync("/lots/LOT-Q2/audit"))).EnumerateArray().ToList();
        Assert.Equal(2, audit.Count);
        Assert.Equal("facets and straight edges", audit[0].GetProperty("reason").GetString());
        var verified = await Json(await qa.GetAsync("/audit/verify"));
        Assert.True(verified.GetProperty("intact").GetBoolean());
        var particleDetail = await Json(await qa.GetAsync($"/runs/q2-a/particles/{first.GetProperty("particleId").GetString()}"));
        Assert.Equal(other, particleDetail.GetProperty("particle").GetProperty("reviewedLabel").GetString());
        Assert.Single(particleDetail.GetProperty("reviews").EnumerateArray());

        // The trail cannot be changed through the product; changed in the database behind its back, it shows.
        using (var db = new SqliteConnection($"Data Source={Path.Combine(_data.Path, "particles.db")}"))
        {
            db.Open();
            using var tamper = db.CreateCommand();
            tamper.CommandText = "UPDATE reviews SET reason = 'nothing to see' WHERE sequence = 1";
            tamper.ExecuteNonQuery();
        }
        var broken = await Json(await qa.GetAsync("/audit/verify"));
        Assert.False(broken.GetProperty("intact").GetBoolean());
        Assert.Equal(1, broken.GetProperty("firstBrokenSequence").GetInt64());

        // Exports: profile and particles as CSV and JSON; reviewed particles as a training set `train` takes.
        string profileCsv = await qa.GetStringAsync("/lots/LOT-Q2/export.csv");
        Assert.StartsWith("lot,type,counts_as_particle,at_or_above_um,count,per_ml,per_container", profileCsv);
        Assert.Contains("verdict,basis", profileCsv);
        Assert.Equal(24, (await Json(await qa.GetAsync("/lots/LOT-Q2/particles.json"))).GetArrayLength());
        Assert.Equal(25, (await qa.GetStringAsync("/lots/LOT-Q2/particles.csv")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var exported = await Json(await qa.GetAsync("/lots/LOT-Q2/export.json"));
        Assert.Equal(("LOT-Q2", 2), (exported.GetProperty("lot").GetString(), exported.GetProperty("reviewed").GetInt32()));

        string unzipped = Path.Combine(_data.Path, "training-set");
        using (var zip = new ZipArchive(await qa.GetStreamAsync("/lots/LOT-Q2/training-set.zip"))) zip.ExtractToDirectory(unzipped);
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(unzipped, "manifest.json")));
        Assert.Equal(2, manifest.RootElement.GetProperty("particles").GetArrayLength());
        Assert.True(Directory.Exists(Path.Combine(unzipped, other)));
        var folders = Directory.GetDirectories(unzipped);
        if (folders.Length >= 2)
        {
            // Two classes with one image each is too little to split; copy each so the trainer has a pair per class.
            foreach (var file in Directory.GetFiles(unzipped, "*.png", SearchOption.AllDirectories)) File.Copy(file, file.Replace(".png", "_copy.png"));
            var trained = new NetworkTrainer(new TrainingOptions("shufflenet_v2", unzipped, Path.Combine(_data.Path, "retrained"),
                Epochs: 1, BatchSize: 2, InputSize: 32, Device: "cpu")).Train();
            Assert.Equal(folders.Select(Path.GetFileName).Order(), trained.Classes.Order());
        }
    }

    /// <summary>Issue 14: activation over HTTP goes through the gate; an admin's override needs a reason and names the admin.</summary>
    [Fact]
    public async Task Activation_over_HTTP_is_gated_shows_its_report_and_an_admin_override_needs_a_reason()
    {
        var store = (IParticleStore)_host.App.Services.GetService(typeof(IParticleStore))!;
        var (adminToken, adminStored) = await AccessTokens.CreateAsync(store, Roles.Admin, "Site admin");
        using var admin = _host.ClientWith(adminToken);
        string adminName = $"Site admin (token {adminStored.TokenId})";   // the audit names the token by name and id
        var set = await Json(await admin.PostAsJsonAsync("/models", new { directories = models.WithOutOfScopeThreshold(1e-9) }));
        string version = set.GetProperty("version").GetString()!;

        // Nothing here is reviewed: too few to tell, refused, and the report is kept with the set.
        var refused = await Json(await admin.PostAsync($"/models/{version}/activate", null), HttpStatusCode.BadRequest);
        Assert.Contains("refused by the gate: refused: too few reviewed particles", refused.GetProperty("error").GetString());
        var gate = await Json(await admin.GetAsync($"/models/{version}/gate"));
        Assert.Equal("RefuseTooFewReviewed", gate.GetProperty("comparison").GetProperty("decision").GetString());
        Assert.Equal(20, gate.GetProperty("comparison").GetProperty("minReviewedPerClass").GetInt32());
        Assert.Equal(HttpStatusCode.Forbidden, (await Qa.GetAsync($"/models/{version}/gate")).StatusCode);

        await Json(await admin.PostAsJsonAsync($"/models/{version}/activate", new { @override = true }), HttpStatusCode.BadRequest);
        var overridden = await Json(await admin.PostAsJsonAsync($"/models/{version}/activate", new { @override = true, reason = "validated offline, CR-7" }));
        Assert.Equal(adminName, overridden.GetProperty("gate").GetProperty("override").GetProperty("admin").GetString());
        var audit = (await Json(await admin.GetAsync("/models/gate/overrides"))).EnumerateArray().Single();
        Assert.Equal((adminName, "validated offline, CR-7"), (audit.GetProperty("admin").GetString(), audit.GetProperty("reason").GetString()));
        Assert.Equal(version, (await Json(await admin.GetAsync("/models"))).GetProperty("active").GetString());
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _data.Dispose();
    }
}
