using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using ParticleGrid.Domain;
using ParticleGrid.Host.Hosting;
using ParticleGrid.Storage;

namespace ParticleGrid.Cli.Commands;

/// <summary>
/// <c>particlegrid lot LOT</c>: a lot's profile, read from the particle store (no running host needed) through the one
/// read path for lots (<see cref="LotReads"/>, as the API and the lot grain read it), judged by the site's settings.
/// </summary>
public static class LotCommand
{
    /// <summary>The CLI's JSON (enums as names, indented): the same as the ingest report's, which the instrument client writes too.</summary>
    public static readonly JsonSerializerOptions Json = ParticleGrid.Ingestion.Commands.IngestCommand.Json;

    public static Command Create()
    {
        var lot = new Argument<string>("lot") { Description = "The lot id" };
        var json = new Option<bool>("--json") { Description = "Print the profile as JSON (as GET /lots/{lot} gives it)" };
        var data = new Option<DirectoryInfo>("--data-dir") { Description = "The embedded host's data directory", DefaultValueFactory = _ => new DirectoryInfo("particlegrid-data") };
        var postgres = new Option<string?>("--postgres") { Description = "A cluster's PostgreSQL connection string (instead of --data-dir)" };
        var command = new Command("lot", "Prints a lot's particle profile: counts per type and size class, per mL and per container, and the ChP <0903> / USP <788> verdict.")
        {
            lot, json, data, postgres,
        };
        command.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            string lotId = parse.GetValue(lot)!;
            using var store = OpenStore(parse.GetValue(data)!, parse.GetValue(postgres), SitePolicy());
            // A store left by an older build gets the migrations it lacks (the lot tallies and kept rows this profile reads).
            await store.EnsureCreatedAsync(cancellation);
            var profile = await new LotReads(store).ProfileAsync(lotId, cancellation)
                ?? throw new ArgumentException($"lot '{lotId}' is not known in {store}: no run was started for it and it was never described");
            Console.Write(parse.GetValue(json) ? JsonSerializer.Serialize(profile, Json) + Environment.NewLine : LotProfileReport.Format(profile));
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// The verdict settings a host on this machine would use (appsettings.json here, PARTICLEGRID__VERDICT__*), so the
    /// command judges a lot as the API does.
    /// </summary>
    internal static VerdictPolicy SitePolicy()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(Environment.CurrentDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();
        var policy = configuration.GetSection($"{ParticleGridOptions.Section}:{nameof(ParticleGridOptions.Verdict)}").Get<VerdictPolicy>() ?? new VerdictPolicy();
        policy.Validate();
        return policy;
    }

    /// <summary>The store a host left behind: its data directory's SQLite file, or a cluster's PostgreSQL.</summary>
    /// <param name="verdict">The site's verdict settings when the command judges lots (see <see cref="SqlParticleStore.Sqlite"/>).</param>
    internal static SqlParticleStore OpenStore(DirectoryInfo data, string? postgres, VerdictPolicy? verdict = null)
    {
        if (postgres is not null) return SqlParticleStore.Postgres(postgres, verdict);
        string file = Path.Combine(data.FullName, "particles.db");
        if (!File.Exists(file)) throw new ArgumentException($"{data.FullName}: no particle store here (particles.db); give the data directory 'serve' or 'demo' used");
        return SqlParticleStore.Sqlite(file, verdict);
    }
}
