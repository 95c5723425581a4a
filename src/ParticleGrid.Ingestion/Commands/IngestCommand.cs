using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using ParticleGrid.Abstractions;
using ParticleGrid.Ingest;

namespace ParticleGrid.Ingestion.Commands;

/// <summary>
/// <c>particlegrid ingest PATH</c>: one instrument export (a FlowCAM run folder, an MFI export, or a folder of particle
/// images) into the cluster as a run. Resumable: run it again after an interruption and it sends only what is missing.
/// Offered by the CLI and by the instrument client (particlegrid-ingest); the <see cref="IngestSite"/> given to
/// <see cref="Create"/> says where runs go without --cluster.
/// </summary>
public static class IngestCommand
{
    /// <summary>How the run report is written with --json (and the CLI's other JSON: enums as names, indented).</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public static Command Create(IngestSite site)
    {
        ArgumentNullException.ThrowIfNull(site);
        var path = new Argument<DirectoryInfo>("path") { Description = "The run folder (FlowCAM .lst/.csv + collages, MFI CSV + images, or single-particle images)" };
        var lot = new Option<string>("--lot") { Description = "The lot the sample comes from", Required = true };
        var instrument = new Option<string>("--instrument") { Description = "The instrument that imaged it", Required = true };
        var sample = new Option<string?>("--sample") { Description = "The sample's name (default: the folder's name); with the instrument it names the run" };
        var calibration = new Option<double?>("--um-per-pixel") { Description = "Micrometres per pixel, to size particles from their images when the export gives no size" };
        var volume = new Option<double?>("--volume-ml") { Description = "Sample volume the instrument analysed (for counts per mL)" };
        var container = new Option<double?>("--container-ml") { Description = "Fill volume of one container of the lot (for counts per container and the verdict)" };
        var cluster = new Option<string?>("--cluster") { Description = $"Gateway silos host:port[,host:port] {site.ClusterDefault}" };
        var http = IngestSite.CreateHttpSiteOption();
        var json = new Option<FileInfo?>("--json") { Description = "Also write the run report as JSON" };
        var retryFor = CreateRetryForOption();
        var retryFailed = new Option<bool>("--retry-failed")
        {
            Description = "First remove the run's particles that an outage recorded as failed (before outages paused runs), and send them again",
        };
        foreach (var positive in new[] { calibration, volume, container })
            positive.Validators.Add(r => { if (r.GetValue(positive) is { } v && !(v > 0 && double.IsFinite(v))) r.AddError($"{positive.Name} must be a positive number"); });

        var command = new Command("ingest", "Sends one instrument export to the cluster as a run, resumably, and prints the run's report.")
        {
            path, lot, instrument, sample, calibration, volume, container, cluster, http,
        };
        foreach (var option in site.CreateOptions()) command.Options.Add(option);
        command.Options.Add(json);
        command.Options.Add(retryFor);
        command.Options.Add(retryFailed);
        command.SetAction((parse, cancellation) => site.Guard(async () =>
        {
            string folder = parse.GetValue(path)!.FullName;
            var reader = ExportReaders.Detect(folder);
            string instrumentId = parse.GetValue(instrument)!, lotId = parse.GetValue(lot)!;
            var settings = new IngestSettings(lotId, instrumentId, RunUploader.RunIdFor(instrumentId, parse.GetValue(sample), folder),
                parse.GetValue(calibration), parse.GetValue(volume), parse.GetValue(container),
                RetryFor: parse.GetValue(retryFor), RetryFailed: parse.GetValue(retryFailed));

            await using var connection = await site.ConnectAsync(parse.GetValue(cluster), parse.GetValue(http), parse, cancellation);
            Console.Error.WriteLine($"ingesting {folder} ({reader.Format}) as run {settings.RunId} of lot {lotId} into {connection.Description}");
            var report = await UploadWithProgressAsync(connection.Run(settings.RunId), reader, folder, settings, cancellation);
            Console.Write(Format(report));
            if (parse.GetValue(json) is { } file) await File.WriteAllTextAsync(file.FullName, JsonSerializer.Serialize(report, Json), cancellation);
            return 0;
        }));
        return command;
    }

    /// <summary>--retry-for: how long each call waits through an outage of the site ("90s", "2m", "1h"; default 2m).</summary>
    public static Option<TimeSpan> CreateRetryForOption() => new("--retry-for")
    {
        Description = $"How long to wait through an outage of the site (gateway restarting, no worker, store down or full) before stopping; e.g. 90s, 2m (default {SiteOutages.Format(SiteOutages.DefaultRetryFor)})",
        DefaultValueFactory = _ => SiteOutages.DefaultRetryFor,
        CustomParser = result =>
        {
            string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (SiteOutages.Parse(text) is { } span) return span;
            result.AddError($"--retry-for: '{text}' is not a duration (a number with s, m or h, e.g. 90s or 2m)");
            return default;
        },
    };

    public static async Task<IngestReport> UploadWithProgressAsync(IRunTarget run, IExportReader reader, string folder, IngestSettings settings, CancellationToken cancellation)
    {
        ConsoleProgressBar? bar = null;
        var report = await RunUploader.UploadAsync(run, reader, folder, settings, (stage, done, total, rate) =>
        {
            if (stage != "sending") return;
            bar ??= new ConsoleProgressBar($"{settings.RunId} sending", total);
            bar.Report(done, $"{rate:0} particles/s");
        }, cancellation, warning => Console.Error.WriteLine($"warning: {settings.RunId}: {warning}"));
        bar?.Finish($"{settings.RunId}: sent {report.Sent} particles");
        return report;
    }

    /// <summary>The run's summary: what went in, what was refused and why, how uncertain it is.</summary>
    public static string Format(IngestReport report)
    {
        var text = new System.Text.StringBuilder();
        var s = report.Status;
        text.AppendLine($"run {report.RunId} ({report.Format}): {report.ParticlesRead} particles read, {report.Rejected.Count} rejected");
        text.AppendLine($"  accepted: {s.Recorded} recorded for the run ({report.Appended} now, {report.AlreadyRecordedBefore} already recorded before)");
        text.AppendLine($"  classified {s.Classified}, uncertain {s.Uncertain}, failed {s.Failed}");
        foreach (var warning in report.Warnings) text.AppendLine($"  warning: {warning}");
        if (report.Rejected.Count > 0)
        {
            text.AppendLine($"  rejected by reason: {string.Join(", ", report.Rejected.GroupBy(r => r.Reason).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}"))}");
            foreach (var rejection in report.Rejected) text.AppendLine($"    [{rejection.Reason}] {(rejection.Message.Contains(rejection.Source) ? "" : rejection.Source + ": ")}{rejection.Message}");
        }
        return text.ToString();
    }
}
