using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using ParticleGrid.Domain;
using ParticleGrid.Host.Auth;
using ParticleGrid.Ingestion;
using ParticleGrid.Storage;

namespace ParticleGrid.Cli.Benchmarks;

/// <summary>What <c>particlegrid bench site</c> is asked to do.</summary>
/// <param name="Postgres">A PostgreSQL server to make a fresh database on (the connection's database is only used to make and drop it); null: SQLite.</param>
/// <param name="ClientRunParticles">Particles of the run the ingest client sends while the queries are timed.</param>
/// <param name="Samples">Requests timed per query.</param>
public sealed record SiteBenchOptions(int Lots, int ParticlesPerLot, int BigLotParticles, string? Postgres, int ClientRunParticles, int Samples);

/// <summary>How the store was filled, and whether its aggregates equal a recount from the particles (<c>store verify</c>).</summary>
public sealed record StoreFigures(string Kind, int Lots, int ParticlesPerLot, int BigLotParticles, long Particles, double FillSeconds,
    double FillRowsPerSecond, int VerifyDifferences, double StoreMiB);

/// <summary>Latencies of one kind of request, timed one after another while the ingest runs.</summary>
public sealed record RequestFigures(string Request, int Samples, double P50Ms, double P99Ms, double MaxMs, long? LotParticles = null, int? Items = null);

/// <summary>The big lot's particles.csv read to the end, and the server's resident memory while it was written.</summary>
public sealed record ExportFigures(string Request, long Rows, double Seconds, double RowsPerSecond, double ServerRssBeforeMiB, double ServerRssPeakMiB,
    double ServerRssGrowthMiB);

/// <summary>
/// The ingest that ran while the queries were timed: particles the site recorded during the queries (through the real
/// networks), and whether it was still running when they ended.
/// </summary>
public sealed record IngestFigures(string RunId, long ParticlesRecordedDuringQueries, double QuerySeconds, double ParticlesPerSecond, bool RanThroughout);

/// <summary>The <c>particlegrid ingest</c> process that sent the run over HTTP: its peak resident memory (VmHWM) and speed.</summary>
public sealed record IngestClientFigures(int Particles, double RunMiB, double Seconds, double ParticlesPerSecond, double PeakRssMiB);

public sealed record SiteBenchReport(string Machine, DateTimeOffset AtUtc, StoreFigures Store, RequestFigures LotList, RequestFigures LotProfileSmall,
    RequestFigures LotProfileBig, RequestFigures ParticlePage, ExportFigures Export, IngestFigures Ingest, IngestClientFigures IngestClient,
    double ServerPeakRssMiB, IReadOnlyList<Commands.TargetStatus> Targets);

/// <summary>
/// <c>particlegrid bench site</c> (issue 16 part 7): a site's volume, measured as QA meets it. It fills a store with N
/// lots of M particles (two runs each) and one big lot, through the store's own append path, so the kept aggregates
/// (lot tallies, model-set counts, and whatever else the append keeps) are exactly what instruments would have left,
/// and checks them with the recount of <c>store verify</c>. Then it serves that store with the real host in a process of
/// its own (<c>particlegrid serve</c>: its memory is read from /proc, apart from the bench's), and times over real HTTP,
/// with a QA token, the lot list, a small and the big lot's profile, keyset particle pages and the big lot's CSV export,
/// while a separate <c>particlegrid ingest</c> process sends a generated run over <c>--site</c> and the host classifies
/// it through its networks (random weights at 32 px: speed does not depend on what they learned). Last, that client's
/// peak memory.
/// </summary>
public static class SiteBenchmark
{
    public const string BigLot = "BENCH-BIG", IngestLot = "BENCH-INGEST";
    private const int AppendChunk = 5000, PageSize = 100, ModelInputSize = 32;
    private static readonly string[] Instruments = ["BENCH-FC-1", "BENCH-MFI-1"];

    public static string LotName(int index) => $"BENCH-{index:D5}";

    public static async Task<SiteBenchReport> RunAsync(SiteBenchOptions options, string work, Action<string> say, CancellationToken cancellation)
    {
        // The client's run and the networks first: neither depends on the store, and a mistake here should not cost a fill.
        string runFolder = Path.Combine(work, "client-run");
        double runMiB = WriteClientRun(runFolder, options.ClientRunParticles);
        var models = BenchModels.CreateSet(Path.Combine(work, "models"), ModelInputSize);

        string data = Path.Combine(work, "data");
        await using var database = options.Postgres is { } postgres ? await BenchDatabase.CreateAsync(postgres, cancellation) : null;
        string instrumentToken, qaToken;
        StoreFigures storeFigures;
        using (var store = database is null ? SqlParticleStore.Sqlite(Path.Combine(data, "particles.db")) : SqlParticleStore.Postgres(database.ConnectionString))
        {
            await store.EnsureCreatedAsync(cancellation);
            storeFigures = await FillAsync(store, options, database is null ? "sqlite" : "postgresql", say, cancellation);
            storeFigures = storeFigures with { StoreMiB = database is null ? FolderMiB(data) : await database.SizeMiBAsync(cancellation) };
            // Tokens as an admin makes them (only their hashes are stored); the host then finds tokens and makes no first admin token.
            instrumentToken = (await AccessTokens.CreateAsync(store, Roles.Instrument, "bench site instrument", cancellation: cancellation)).Token;
            qaToken = (await AccessTokens.CreateAsync(store, Roles.Qa, "bench site QA", cancellation: cancellation)).Token;
        }

        await using var server = await ServerProcess.StartAsync(data, database?.ConnectionString, models, say, cancellation);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromMinutes(30) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", qaToken);

        string smallLot = LotName(options.Lots / 2);
        var requests = new Requests(http, smallLot);
        await requests.WarmUpAsync(cancellation);

        // The ingest runs through the real networks while the queries are timed: wait until the site records its particles.
        string runId = RunUploader.RunIdFor(Instruments[0], "client-run", runFolder);
        using var client = MeasuredProcess.Start(["ingest", runFolder, "--lot", IngestLot, "--instrument", Instruments[0], "--sample", "client-run",
            "--volume-ml", "0.5", "--um-per-pixel", "1.0", "--site", server.Url], new Dictionary<string, string> { [HttpSiteConnection.TokenVariable] = instrumentToken });
        long recordedBefore = await WaitForIngestAsync(http, runId, client, cancellation);
        say($"timing the queries while {runId} is ingested ({recordedBefore} particles recorded so far)");

        var clock = Stopwatch.StartNew();
        var lotList = await requests.LotListAsync(options.Samples, cancellation);
        var profileSmall = await requests.ProfileAsync(smallLot, options.ParticlesPerLot, options.Samples, cancellation);
        var profileBig = await requests.ProfileAsync(BigLot, options.BigLotParticles, options.Samples, cancellation);
        var page = await requests.ParticlePagesAsync(BigLot, options.BigLotParticles, options.Samples, cancellation);
        var export = await requests.ExportAsync(BigLot, server, cancellation);
        double querySeconds = clock.Elapsed.TotalSeconds;
        bool ranThroughout = !client.HasExited;
        long recordedAfter = await RecordedAsync(http, runId, cancellation);
        var ingest = new IngestFigures(runId, recordedAfter - recordedBefore, querySeconds, (recordedAfter - recordedBefore) / querySeconds, ranThroughout);
        say($"queries done in {querySeconds:F1} s; waiting for the ingest client to send the rest of its {options.ClientRunParticles} particles");

        var clientResult = await client.WaitAsync(TimeSpan.FromHours(2), cancellation);
        if (clientResult.ExitCode != 0) throw new InvalidOperationException($"the ingest client failed (exit {clientResult.ExitCode}): {client.LastLines}");
        var ingestClient = new IngestClientFigures(options.ClientRunParticles, runMiB, clientResult.Seconds, options.ClientRunParticles / clientResult.Seconds,
            clientResult.PeakRssMiB);
        double serverPeak = server.PeakRssMiB();

        var report = new SiteBenchReport($"{Environment.MachineName}, {Environment.ProcessorCount} cores, {CpuName()}", DateTimeOffset.UtcNow, storeFigures,
            lotList, profileSmall, profileBig, page, export, ingest, ingestClient, serverPeak, []);
        return report with { Targets = Targets(report) };
    }

    // The fill.

    /// <summary>
    /// N lots of two runs (two instruments, half the particles each) and the big lot, appended in chunks through
    /// <see cref="IParticleStore.AppendAsync"/>: the path instruments take, so every aggregate it keeps is kept here.
    /// Then the recount of <c>store verify</c>: 0 differences expected.
    /// </summary>
    private static async Task<StoreFigures> FillAsync(SqlParticleStore store, SiteBenchOptions options, string kind, Action<string> say,
        CancellationToken cancellation)
    {
        long total = (long)options.Lots * options.ParticlesPerLot + options.BigLotParticles;
        if (total > int.MaxValue) throw new ArgumentException("the store would hold more than 2^31 particles");
        var bar = new ConsoleProgressBar($"filling {kind}", (int)total);
        var random = new Random(16);
        long done = 0;
        var clock = Stopwatch.StartNew();
        var epoch = DateTimeOffset.UtcNow.AddDays(-options.Lots - 1);
        foreach (var (lot, particles, index) in Enumerable.Range(0, options.Lots).Select(i => (LotName(i), options.ParticlesPerLot, i))
                     .Append((BigLot, options.BigLotParticles, options.Lots)))
        {
            await store.SaveLotAsync(new LotRecord(lot, 1.0, $"mAb-{index % 7}, 1 mL prefilled syringe"), cancellation);
            var started = epoch.AddDays(index);
            for (int r = 0; r < Instruments.Length; r++)
            {
                string run = $"{lot}-{Instruments[r]}";
                int count = particles / 2 + (r == 0 ? particles % 2 : 0);
                await store.SaveRunAsync(new RunRecord(run, lot, Instruments[r], 0.5, count, started.AddHours(r)), cancellation);
                for (int first = 0; first < count; first += AppendChunk)
                {
                    var chunk = Enumerable.Range(first, Math.Min(AppendChunk, count - first))
                        .Select(i => Particle(run, lot, Instruments[r], i, random, started.AddHours(r))).ToList();
                    await store.AppendAsync(chunk, cancellation);
                    done += chunk.Count;
                    bar.Report((int)done, $"{done / clock.Elapsed.TotalSeconds:F0} particles/s");
                }
                await store.CompleteRunAsync(run, started.AddHours(r + 1), cancellation);
            }
        }
        double seconds = clock.Elapsed.TotalSeconds;
        bar.Finish($"filled {kind}: {options.Lots} lots x {options.ParticlesPerLot} particles + {BigLot} of {options.BigLotParticles} in {seconds:F0} s " +
                   $"({total / seconds:F0} particles/s)");

        say("checking the kept aggregates against a recount from the particles (as 'particlegrid store verify' does) ...");
        var check = await store.CheckAggregatesAsync(rewrite: false, cancellation);
        foreach (var difference in check.Differences.Take(20)) say($"  {difference}");
        say($"verify: {check.Lots} lots, {check.Particles} particles recounted; {check.Differences.Count} difference(s)");
        if (check.Differences.Count > 0)
            throw new InvalidOperationException($"the fill left {check.Differences.Count} aggregate difference(s): the figures would measure a broken store");
        return new StoreFigures(kind, options.Lots, options.ParticlesPerLot, options.BigLotParticles, total, seconds, total / seconds, check.Differences.Count, 0);
    }

    private static readonly string[] Types = [.. ParticleTypes.StudyTypes.Select(ParticleTypes.FolderName)];
    private static readonly string[] Networks = ["resnet50", "densenet201", "shufflenet_v2"];

    /// <summary>
    /// A classified particle as the host records one: three networks' votes, a vote and its probability, a size from
    /// the image; about 1 in 200 failed, 1 in 30 unknown, and the unsure ones marked uncertain.
    /// </summary>
    private static ParticleRecord Particle(string run, string lot, string instrument, int index, Random random, DateTimeOffset at)
    {
        string id = $"{index:D7}";
        string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(run + id)));
        double ecd = Math.Round(2 + Math.Exp(random.NextDouble() * 3.6), 2);   // 3-38 µm, most of them small, as in real samples
        var shape = ParticleShape.Of(Math.Round(Math.PI * ecd * ecd / 4, 2), Math.Round(1 + random.NextDouble(), 3), Math.Round(random.NextDouble(), 3),
            Math.Round(random.NextDouble() * 255, 1));
        if (random.NextDouble() < 0.005)
            return new ParticleRecord(run, id, lot, instrument, sha, ecd, null, null, false, null, null, [], "image could not be decoded (bench)", at, "instrument", shape);
        string type = random.NextDouble() < 0.03 ? ParticleTypes.FolderName(ParticleType.Unknown) : Types[random.Next(Types.Length)];
        double probability = Math.Round(0.4 + 0.6 * random.NextDouble(), 4);
        var votes = Networks.Select(n => new ModelVote(n, $"{n}@bench", [.. Enumerable.Range(0, 4).Select(_ => (float)Math.Round(random.NextDouble(), 3))], type)).ToList();
        bool uncertain = probability < 0.5;
        return new ParticleRecord(run, id, lot, instrument, sha, ecd, type, probability, uncertain, uncertain ? "below_threshold" : null, "bench-set",
            votes, null, at, "instrument", shape);
    }

    /// <summary>A folder of single-particle PNGs (64 drawings in turn, each its own file) as an instrument export; its MiB.</summary>
    private static double WriteClientRun(string folder, int particles)
    {
        Directory.CreateDirectory(folder);
        var images = BenchModels.Images(Math.Min(particles, 64));
        long bytes = 0;
        for (int i = 0; i < particles; i++)
        {
            var png = images[i % images.Length];
            File.WriteAllBytes(Path.Combine(folder, $"particle_{i:D7}.png"), png);
            bytes += png.Length;
        }
        return bytes / 1048576.0;
    }

    // The measurements.

    /// <summary>The QA requests timed, one after another (a QA user's clicks, not a load test).</summary>
    private sealed class Requests(HttpClient http, string smallLot)
    {
        public async Task WarmUpAsync(CancellationToken cancellation)
        {
            foreach (string path in new[] { "/lots", $"/lots/{smallLot}/export.json", $"/lots/{BigLot}/export.json", $"/lots/{BigLot}/particles?limit={PageSize}" })
                await GetAsync(path, cancellation);
        }

        /// <summary>
        /// GET /lots, its first page: today an array of every lot; once the list is paged in SQL, an object with
        /// <c>lots</c> (and a total and a next cursor). Either is read.
        /// </summary>
        public async Task<RequestFigures> LotListAsync(int samples, CancellationToken cancellation)
        {
            int items = 0;
            var times = await TimeAsync(samples, async () =>
            {
                using var list = JsonDocument.Parse(await GetAsync("/lots", cancellation));
                var lots = list.RootElement.ValueKind == JsonValueKind.Array ? list.RootElement : list.RootElement.GetProperty("lots");
                items = lots.GetArrayLength();
            });
            if (items == 0) throw new InvalidOperationException("GET /lots listed no lot: the bench's store is not what the host serves");
            return Figures("GET /lots (first page)", times) with { Items = items };
        }

        /// <summary>GET /lots/{lot}/export.json: the lot's profile, computed from the store on each request.</summary>
        public async Task<RequestFigures> ProfileAsync(string lot, long particles, int samples, CancellationToken cancellation)
        {
            long counted = 0;
            var times = await TimeAsync(samples, async () =>
            {
                using var profile = JsonDocument.Parse(await GetAsync($"/lots/{lot}/export.json", cancellation));
                counted = profile.RootElement.GetProperty("particles").GetInt64();
            });
            if (counted != particles) throw new InvalidOperationException($"the profile of {lot} counts {counted} particles, the bench stored {particles}");
            return Figures($"GET /lots/{lot}/export.json", times) with { LotParticles = counted };
        }

        /// <summary>
        /// Pages of the big lot one after another, each from the last one's <c>next</c> cursor (keyset, not offset); once
        /// the lot's <paramref name="particles"/> have all been paged through, from its first page again, so a small lot
        /// and many samples never ask past its end.
        /// </summary>
        public async Task<RequestFigures> ParticlePagesAsync(string lot, long particles, int samples, CancellationToken cancellation)
        {
            string? next = null;
            long seen = 0;
            var times = await TimeAsync(samples, async () =>
            {
                string path = $"/lots/{lot}/particles?limit={PageSize}" + (next is null ? "" : $"&after={Uri.EscapeDataString(next)}");
                using var page = JsonDocument.Parse(await GetAsync(path, cancellation));
                next = page.RootElement.TryGetProperty("next", out var cursor) && cursor.ValueKind == JsonValueKind.String ? cursor.GetString() : null;
                int items = page.RootElement.GetProperty("particles").GetArrayLength();
                if (items == 0) throw new InvalidOperationException($"{path} answered an empty page ({seen} of the lot's {particles} particles paged so far)");
                seen += items;
                if (seen >= particles || next is null) (next, seen) = (null, 0);
            });
            return Figures($"GET /lots/{lot}/particles?limit={PageSize}&after=...", times) with { Items = PageSize };
        }

        /// <summary>The big lot's particles.csv, read line by line as it arrives; the server's RSS sampled every 50 ms meanwhile.</summary>
        public async Task<ExportFigures> ExportAsync(string lot, ServerProcess server, CancellationToken cancellation)
        {
            double before = server.RssMiB(), peak = before;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    peak = Math.Max(peak, server.RssMiB());
                    try { await Task.Delay(50, sampling.Token); } catch (OperationCanceledException) { }
                }
            }, CancellationToken.None);
            string path = $"/lots/{lot}/particles.csv";
            var clock = Stopwatch.StartNew();
            long rows = -1;   // the header is no row
            using (var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, cancellation))
            {
                response.EnsureSuccessStatusCode();
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellation));
                while (await reader.ReadLineAsync(cancellation) is not null) rows++;
            }
            double seconds = clock.Elapsed.TotalSeconds;
            await sampling.CancelAsync();
            await sampler;
            return new ExportFigures($"GET {path}", rows, seconds, rows / seconds, before, peak, peak - before);
        }

        private async Task<string> GetAsync(string path, CancellationToken cancellation)
        {
            using var response = await http.GetAsync(path, cancellation);
            string body = await response.Content.ReadAsStringAsync(cancellation);
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET {path} answered {(int)response.StatusCode}: {body}");
            return body;
        }

        private static async Task<List<double>> TimeAsync(int samples, Func<Task> request)
        {
            var times = new List<double>(samples);
            for (int i = 0; i < samples; i++)
            {
                long started = Stopwatch.GetTimestamp();
                await request();
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            return times;
        }

        /// <summary>Nearest-rank percentiles: with 20 samples p99 is the slowest, as it should be for so few.</summary>
        private static RequestFigures Figures(string request, List<double> times)
        {
            times.Sort();
            double Percentile(double p) => times[Math.Clamp((int)Math.Ceiling(p * times.Count) - 1, 0, times.Count - 1)];
            return new RequestFigures(request, times.Count, Math.Round(Percentile(0.50), 1), Math.Round(Percentile(0.99), 1), Math.Round(times[^1], 1));
        }
    }

    /// <summary>How many particles the site has recorded for the run (GET /runs/{run}); 0 before it started.</summary>
    private static async Task<long> RecordedAsync(HttpClient http, string runId, CancellationToken cancellation)
    {
        using var response = await http.GetAsync($"/runs/{Uri.EscapeDataString(runId)}", cancellation);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return 0;
        response.EnsureSuccessStatusCode();
        using var status = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellation));
        return status.RootElement.GetProperty("recorded").GetInt64();
    }

    /// <summary>Until the site has recorded the client's first particles (so the networks are busy), or the client ended.</summary>
    private static async Task<long> WaitForIngestAsync(HttpClient http, string runId, MeasuredProcess client, CancellationToken cancellation)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromMinutes(3))
        {
            long recorded = await RecordedAsync(http, runId, cancellation);
            if (recorded > 0 || client.HasExited) return recorded;
            await Task.Delay(100, cancellation);
        }
        throw new TimeoutException($"the site recorded nothing of {runId} in 3 minutes: {client.LastLines}");
    }

    private static IReadOnlyList<Commands.TargetStatus> Targets(SiteBenchReport r)
    {
        var e = r.Export;
        return
        [
            new("lot list p99 <= 200 ms", $"{r.LotList.P99Ms:F0} ms ({r.LotList.Items} lots on the first page)", r.LotList.P99Ms <= 200),
            new("lot profile p99 <= 100 ms (small lot)", $"{r.LotProfileSmall.P99Ms:F0} ms ({r.LotProfileSmall.LotParticles} particles)", r.LotProfileSmall.P99Ms <= 100),
            new("lot profile p99 <= 100 ms (big lot)", $"{r.LotProfileBig.P99Ms:F0} ms ({r.LotProfileBig.LotParticles} particles)", r.LotProfileBig.P99Ms <= 100),
            new("export >= 50k rows/s", $"{e.RowsPerSecond:F0} rows/s ({e.Rows} rows in {e.Seconds:F1} s)", e.RowsPerSecond >= 50_000),
            new("server RSS growth during the export <= 50 MB", $"{e.ServerRssGrowthMiB * 1.048576:F0} MB ({e.ServerRssBeforeMiB:F0} -> {e.ServerRssPeakMiB:F0} MiB)",
                e.ServerRssGrowthMiB * 1.048576 <= 50),
            // The target is stated for a 200k-particle run; a smaller run shows the figure without judging it.
            new("ingest client peak RSS <= 300 MB for a 200k-particle run", $"{r.IngestClient.PeakRssMiB * 1.048576:F0} MB for {r.IngestClient.Particles} particles",
                r.IngestClient.Particles >= 200_000 ? r.IngestClient.PeakRssMiB * 1.048576 <= 300 : null),
        ];
    }

    public static string Format(SiteBenchReport r)
    {
        var text = new System.Text.StringBuilder();
        var s = r.Store;
        text.AppendLine($"ParticleGrid site bench on {r.Machine}, {r.AtUtc:yyyy-MM-dd HH:mm} UTC");
        text.AppendLine($"store: {s.Kind}, {s.Lots} lots x {s.ParticlesPerLot} particles + {BigLot} of {s.BigLotParticles} = {s.Particles} particles " +
                        $"({s.StoreMiB:F0} MiB); filled in {s.FillSeconds:F0} s ({s.FillRowsPerSecond:F0}/s); verify: {s.VerifyDifferences} difference(s)");
        text.AppendLine();
        text.AppendLine($"   {"measurement",-18}{"samples",8}{"p50 ms",10}{"p99 ms",10}{"max ms",10}  request");
        foreach (var (name, f) in new[] { ("lotList", r.LotList), ("lotProfileSmall", r.LotProfileSmall), ("lotProfileBig", r.LotProfileBig), ("particlePage", r.ParticlePage) })
            text.AppendLine($"   {name,-18}{f.Samples,8}{f.P50Ms,10:F1}{f.P99Ms,10:F1}{f.MaxMs,10:F1}  {f.Request}");
        var e = r.Export;
        text.AppendLine($"   export: {e.Rows} rows in {e.Seconds:F1} s = {e.RowsPerSecond:F0} rows/s; server RSS {e.ServerRssBeforeMiB:F0} -> {e.ServerRssPeakMiB:F0} MiB " +
                        $"(+{e.ServerRssGrowthMiB:F0} MiB)  {e.Request}");
        var i = r.Ingest;
        text.AppendLine($"   ingest: {i.ParticlesRecordedDuringQueries} particles recorded during the {i.QuerySeconds:F0} s of queries = {i.ParticlesPerSecond:F1}/s " +
                        $"through the networks ({(i.RanThroughout ? "ran throughout" : "ENDED before the queries did")})");
        var c = r.IngestClient;
        text.AppendLine($"   ingestClient: {c.Particles} particles ({c.RunMiB:F0} MiB) in {c.Seconds:F0} s = {c.ParticlesPerSecond:F1}/s; peak RSS {c.PeakRssMiB:F0} MiB");
        text.AppendLine($"   server peak RSS: {r.ServerPeakRssMiB:F0} MiB");
        text.AppendLine();
        text.AppendLine("Targets:");
        foreach (var t in r.Targets) text.AppendLine($"   [{(t.Met is null ? "n/a" : t.Met.Value ? "met" : "not met")}] {t.Target}: {t.Measured}");
        return text.ToString();
    }

    private static double FolderMiB(string folder) =>
        new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) / 1048576.0;

    private static string CpuName() =>
        File.Exists("/proc/cpuinfo") && File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) is { } line
            ? line[(line.IndexOf(':') + 1)..].Trim() : "unknown CPU";

    /// <summary>VmRSS or VmHWM of a process from /proc, in MiB; NaN where there is none (not Linux, or the process is gone).</summary>
    internal static double ProcMiB(int pid, string field)
    {
        try
        {
            string? line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
            return line is null ? double.NaN : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return double.NaN;
        }
    }

    /// <summary>A PostgreSQL database of the bench's own, made on the given server and dropped afterwards.</summary>
    private sealed class BenchDatabase : IAsyncDisposable
    {
        private readonly string _server, _name;

        private BenchDatabase(string server, string name)
        {
            _server = server;
            _name = name;
            ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = name }.ToString();
        }

        public string ConnectionString { get; }

        public static async Task<BenchDatabase> CreateAsync(string server, CancellationToken cancellation)
        {
            var database = new BenchDatabase(server, $"particlegrid_bench_{DateTime.UtcNow:yyyyMMddHHmmss}_{Environment.ProcessId}");
            await database.ExecuteAsync($"CREATE DATABASE {database._name}", cancellation);
            return database;
        }

        public async Task<double> SizeMiBAsync(CancellationToken cancellation)
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync(cancellation);
            await using var size = new NpgsqlCommand("SELECT pg_database_size(current_database())", connection);
            return Convert.ToInt64(await size.ExecuteScalarAsync(cancellation)) / 1048576.0;
        }

        private async Task ExecuteAsync(string sql, CancellationToken cancellation)
        {
            await using var connection = new NpgsqlConnection(_server);
            await connection.OpenAsync(cancellation);
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync(cancellation);
        }

        public async ValueTask DisposeAsync()
        {
            NpgsqlConnection.ClearAllPools();
            try { await ExecuteAsync($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)", CancellationToken.None); }
            catch (NpgsqlException) { }
        }
    }

    /// <summary><c>particlegrid serve</c> on the bench's store, in a process of its own; killed (with what it started) at the end.</summary>
    internal sealed class ServerProcess : IAsyncDisposable
    {
        private readonly MeasuredProcess _process;

        private ServerProcess(MeasuredProcess process, string url)
        {
            _process = process;
            Url = url;
        }

        public string Url { get; }

        public double RssMiB() => ProcMiB(_process.Id, "VmRSS");

        public double PeakRssMiB() => ProcMiB(_process.Id, "VmHWM");

        public static async Task<ServerProcess> StartAsync(string data, string? postgres, IReadOnlyList<string> models, Action<string> say,
            CancellationToken cancellation)
        {
            int[] ports = EndToEndBenchmark.FreePorts(3);
            string url = $"http://127.0.0.1:{ports[2]}";
            List<string> arguments = ["serve", "--data-dir", data, "--urls", url, "--silo-port", $"{ports[0]}", "--gateway-port", $"{ports[1]}",
                "--models", string.Join(',', models)];
            Dictionary<string, string>? environment = null;
            if (postgres is not null)
            {
                arguments.AddRange(["--mode", "Cluster", "--roles", "gateway,worker", "--postgres", postgres]);
                // Cluster mode refuses to start without mutual TLS. This host is one silo on the bench's machine, measured
                // over HTTP (no Orleans client, no other silo connects), on a throwaway database of synthetic lots that is
                // dropped at the end: the insecure setting is given to this child process only, and the host logs that it
                // is insecure. Its silo and gateway ports do listen on every address while the bench runs; run the bench
                // on a machine whose network you trust, as the warning says.
                environment = new Dictionary<string, string> { ["PARTICLEGRID__TLS__INSECURE"] = "true" };
            }
            var process = MeasuredProcess.Start(arguments, environment);
            var server = new ServerProcess(process, url);
            say($"starting the host (particlegrid serve, process {process.Id}) on {url} ...");
            // serve prints its HTTP line once the model set is registered and active: then ingest can classify.
            var clock = Stopwatch.StartNew();
            while (!process.Output.Contains("HTTP: GET", StringComparison.Ordinal))
            {
                if (process.HasExited || clock.Elapsed > TimeSpan.FromMinutes(5))
                {
                    await server.DisposeAsync();
                    throw new InvalidOperationException($"the host did not start: {process.LastLines}");
                }
                await Task.Delay(200, cancellation);
            }
            return server;
        }

        public ValueTask DisposeAsync()
        {
            _process.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>A particlegrid process of the bench's, its output kept and its peak resident memory (VmHWM) read every 50 ms.</summary>
    internal sealed class MeasuredProcess : IDisposable
    {
        private readonly Process _process;
        private readonly System.Text.StringBuilder _output = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private double _peakMiB;

        private MeasuredProcess(Process process)
        {
            _process = process;
            _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            _ = Task.Run(async () =>
            {
                // VmHWM only grows; the last reading before the process ends is its peak but for its last 50 ms.
                while (!_process.HasExited)
                {
                    double hwm = ProcMiB(_process.Id, "VmHWM");
                    if (!double.IsNaN(hwm)) _peakMiB = Math.Max(_peakMiB, hwm);
                    await Task.Delay(50);
                }
            });
        }

        public static MeasuredProcess Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment)
        {
            var (program, prefix) = EngineBenchmark.CurrentProgram();
            var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in prefix.Concat(arguments)) start.ArgumentList.Add(argument);
            foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
            return new MeasuredProcess(Process.Start(start)!);
        }

        public int Id => _process.Id;

        public bool HasExited => _process.HasExited;

        public string Output { get { lock (_output) return _output.ToString(); } }

        public string LastLines => string.Join(" | ", Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(5));

        public async Task<(int ExitCode, double Seconds, double PeakRssMiB)> WaitAsync(TimeSpan timeout, CancellationToken cancellation)
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            limit.CancelAfter(timeout);
            await _process.WaitForExitAsync(limit.Token);
            return (_process.ExitCode, _clock.Elapsed.TotalSeconds, _peakMiB);
        }

        public void Dispose()
        {
            try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
            _process.WaitForExit(10_000);
            _process.Dispose();
        }
    }
}
