using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using ParticleGrid.Ingest;

namespace ParticleGrid.Ingestion.Commands;

/// <summary>
/// <c>particlegrid watch DIR...</c>: follows instruments' export folders. Each sub-folder of a DIR is a run; once it has
/// a <c>run.json</c> and nothing in it has changed for the settle time, it is ingested (several at once). What was
/// ingested is noted in <c>DIR/.particlegrid-watch.json</c>, and the runs themselves skip what they already have, so
/// a restarted watch never counts a particle twice. Offered by the CLI and by the instrument client (particlegrid-ingest).
/// </summary>
/// <remarks>
/// It outlives the site's outages: a run interrupted by one (the gateway restarting, the store down, its disk full:
/// <see cref="IngestInterruptedException"/>) is not noted as done and is sent again on a later round, resuming where it
/// was, over a connection opened anew; a full disk under the watched folder costs the note of what was done, which the
/// runs themselves make good (they skip what they have).
/// </remarks>
public static class WatchCommand
{
    private const string StateFile = ".particlegrid-watch.json";

    private sealed record Ingested(string RunId, string ManifestSha256, DateTimeOffset AtUtc);

    public static Command Create(IngestSite site)
    {
        ArgumentNullException.ThrowIfNull(site);
        var folders = new Argument<DirectoryInfo[]>("dir") { Description = "Export folders to follow (each sub-folder is one run)", Arity = ArgumentArity.OneOrMore };
        var cluster = new Option<string?>("--cluster") { Description = $"Gateway silos host:port[,host:port] {site.ClusterDefault}" };
        var http = IngestSite.CreateHttpSiteOption();
        var settle = new Option<double>("--settle-seconds") { Description = "A run folder is complete when it has run.json and nothing changed for this long", DefaultValueFactory = _ => 5 };
        var parallel = new Option<int>("--parallel") { Description = "Runs ingested at once", DefaultValueFactory = _ => 2 };
        var once = new Option<bool>("--once") { Description = "Ingest what is complete now and exit" };
        var retryFor = IngestCommand.CreateRetryForOption();
        var command = new Command("watch", "Follows instrument export folders and ingests each run once it is complete, from many instruments at once.")
        {
            folders, cluster, http,
        };
        foreach (var option in site.CreateOptions()) command.Options.Add(option);
        foreach (var option in new Option[] { settle, parallel, once, retryFor }) command.Options.Add(option);
        command.SetAction((parse, cancellation) => site.Guard(async () =>
        {
            var roots = parse.GetValue(folders)!.Select(f => f.FullName).ToList();
            foreach (var root in roots.Where(r => !Directory.Exists(r))) throw new ArgumentException($"{root}: folder not found");
            ISiteConnection? connection = await site.ConnectAsync(parse.GetValue(cluster), parse.GetValue(http), parse, cancellation);
            Console.Error.WriteLine($"watching {string.Join(", ", roots)} for complete runs (run.json); sending to {connection.Description}");
            var settleTime = TimeSpan.FromSeconds(parse.GetValue(settle));
            var refused = new Dictionary<string, string>();   // folder -> manifest hash already reported as bad
            using var slots = new SemaphoreSlim(Math.Max(1, parse.GetValue(parallel)));
            try
            {
                do
                {
                    // After an outage the connection is opened anew (a restarted gateway is a new server); until it opens, wait.
                    connection ??= await ReconnectAsync(site, parse, parse.GetValue(cluster), parse.GetValue(http), cancellation);
                    if (connection is not null)
                    {
                        var ready = roots.SelectMany(root => Directory.GetDirectories(root).Order(StringComparer.Ordinal).Select(run => (root, run)))
                            .Where(r => IsComplete(r.run, settleTime) && !AlreadyIngested(r.root, r.run) && !IsRefusedAgain(refused, r.run)).ToList();
                        var open = connection;
                        var outcomes = await Task.WhenAll(ready.Select(async r =>
                        {
                            await slots.WaitAsync(cancellation);
                            try { return await IngestAsync(open, r.root, r.run, refused, parse.GetValue(retryFor), cancellation); }
                            finally { slots.Release(); }
                        }));
                        if (outcomes.Contains(Outcome.Interrupted))
                        {
                            await connection.DisposeAsync();
                            connection = null;
                        }
                    }
                    if (parse.GetValue(once)) break;
                    await Task.Delay(TimeSpan.FromSeconds(2), cancellation);
                }
                while (!cancellation.IsCancellationRequested);
            }
            finally
            {
                if (connection is not null) await connection.DisposeAsync();
            }
            return 0;
        }));
        return command;
    }

    private enum Outcome { Ingested, Refused, Interrupted }

    /// <summary>Opens the connection again after an outage; null (said on standard error) while the site cannot be reached yet.</summary>
    private static async Task<ISiteConnection?> ReconnectAsync(IngestSite site, ParseResult parse, string? cluster, string? http, CancellationToken cancellation)
    {
        try
        {
            var connection = await site.ConnectAsync(cluster, http, parse, cancellation);
            Console.Error.WriteLine($"reconnected to {connection.Description}; resuming");
            return connection;
        }
        catch (Exception e) when (e is InvalidOperationException or SiteUnavailableException || SiteOutages.IsOutage(e))
        {
            Console.Error.WriteLine($"warning: the site cannot be reached yet ({SiteOutages.Describe(e)}); trying again");
            return null;
        }
    }

    private static async Task<Outcome> IngestAsync(ISiteConnection connection, string root, string folder, Dictionary<string, string> refused, TimeSpan retryFor,
        CancellationToken cancellation)
    {
        string manifestPath = Path.Combine(folder, RunManifest.FileName);
        string manifestSha = Sha256(manifestPath);
        IngestReport report;
        try
        {
            var manifest = RunManifest.Read(manifestPath);
            var reader = ExportReaders.Detect(folder);
            var settings = new IngestSettings(manifest.Lot, manifest.Instrument, RunUploader.RunIdFor(manifest.Instrument, manifest.Sample, folder),
                manifest.UmPerPixel, manifest.VolumeMl, manifest.ContainerMl, RetryFor: retryFor);
            report = await RunUploader.UploadAsync(connection.Run(settings.RunId), reader, folder, settings, null, cancellation,
                warning => Console.Error.WriteLine($"warning: {folder}: {warning}"));
        }
        catch (IngestInterruptedException e)
        {
            // An outage, not a bad export: the run is sent again on a later round and resumes where it was.
            Console.Error.WriteLine($"warning: {folder}: {e.Message} (watch tries again)");
            return Outcome.Interrupted;
        }
        catch (Exception e) when (e is ArgumentException or ExportException or InvalidOperationException)
        {
            // A bad export is reported once and skipped until its run.json changes; the other runs go on.
            lock (refused) refused[folder] = manifestSha;
            Console.Error.WriteLine($"error: {folder}: {e.Message}");
            return Outcome.Refused;
        }
        Console.Write(IngestCommand.Format(report));
        try
        {
            Remember(root, folder, new Ingested(report.RunId, manifestSha, DateTimeOffset.UtcNow));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full disk (or a read-only one) under the watched folder: the run is recorded; it is checked again next
            // round, and sends nothing it has.
            Console.Error.WriteLine($"warning: {folder}: recorded, but the note of it could not be written ({e.Message}); it will be checked again");
        }
        return Outcome.Ingested;
    }

    private static bool IsComplete(string folder, TimeSpan settle)
    {
        if (!File.Exists(Path.Combine(folder, RunManifest.FileName))) return false;
        var newest = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Max(File.GetLastWriteTimeUtc);
        return DateTime.UtcNow - newest >= settle;
    }

    private static bool IsRefusedAgain(Dictionary<string, string> refused, string folder)
    {
        lock (refused) return refused.TryGetValue(folder, out var sha) && sha == Sha256(Path.Combine(folder, RunManifest.FileName));
    }

    private static readonly object StateGate = new();

    private static Dictionary<string, Ingested> State(string root)
    {
        string path = Path.Combine(root, StateFile);
        if (!File.Exists(path)) return [];
        try { return JsonSerializer.Deserialize<Dictionary<string, Ingested>>(File.ReadAllText(path)) ?? []; }
        catch (JsonException) { return []; }   // a damaged note costs a re-check, not a double count: runs skip what they have
    }

    private static bool AlreadyIngested(string root, string folder)
    {
        lock (StateGate)
        {
            return State(root).TryGetValue(Path.GetFileName(folder), out var done) && done.ManifestSha256 == Sha256(Path.Combine(folder, RunManifest.FileName));
        }
    }

    private static void Remember(string root, string folder, Ingested ingested)
    {
        lock (StateGate)
        {
            var state = State(root);
            state[Path.GetFileName(folder)] = ingested;
            string path = Path.Combine(root, StateFile), temporary = path + ".tmp";
            File.WriteAllText(temporary, JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
            File.Move(temporary, path, overwrite: true);
        }
    }

    private static string Sha256(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
}
