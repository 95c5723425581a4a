using System.CommandLine;
using ParticleGrid.Storage;

namespace ParticleGrid.Cli.Commands;

/// <summary>
/// <c>particlegrid store verify</c> and <c>store rebuild</c>: the lot tallies, model-set counts and lot rows (stored
/// verdicts included) the store keeps with every append and review, recounted and judged again from the particles. Verify reports each difference (none expected) and exits 1
/// when there is any; rebuild reports them too, then rewrites the kept ones from the recount.
/// </summary>
public static class StoreCommand
{
    public static Command Create()
    {
        var verify = Subcommand("verify", "Recounts every lot's aggregates from its particles and reports each difference from those kept (exit code 1 when any).",
            rewrite: false);
        var rebuild = Subcommand("rebuild", "Recounts every lot's aggregates from its particles, reports the differences, and rewrites the kept ones from the recount.",
            rewrite: true);
        return new Command("store", "The particle store's upkeep: its schema is migrated at every start; its kept aggregates are checked here.") { verify, rebuild };
    }

    private static Command Subcommand(string name, string description, bool rewrite)
    {
        var data = new Option<DirectoryInfo>("--data-dir") { Description = "The embedded host's data directory", DefaultValueFactory = _ => new DirectoryInfo("particlegrid-data") };
        var postgres = new Option<string?>("--postgres") { Description = "A cluster's PostgreSQL connection string (instead of --data-dir)" };
        var command = new Command(name, description) { data, postgres };
        command.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            // Judged by the site's settings (appsettings.json here, PARTICLEGRID__VERDICT__*), as the host judges them.
            using var store = LotCommand.OpenStore(parse.GetValue(data)!, parse.GetValue(postgres), LotCommand.SitePolicy());
            await store.EnsureCreatedAsync(cancellation);
            var check = await store.CheckAggregatesAsync(rewrite, cancellation);
            foreach (var difference in check.Differences) Console.WriteLine(difference);
            Console.WriteLine($"{store}: {check.Lots} lot(s), {check.Particles} particle(s) recounted; {check.Differences.Count} difference(s)" +
                (rewrite ? "; aggregates rewritten from the recount" : ""));
            return !rewrite && check.Differences.Count > 0 ? 1 : 0;
        }));
        return command;
    }
}
