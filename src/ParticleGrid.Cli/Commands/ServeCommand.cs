using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using ParticleGrid.Abstractions;
using ParticleGrid.Host.Hosting;

namespace ParticleGrid.Cli.Commands;

/// <summary><c>particlegrid serve</c>: runs a silo with its HTTP API until Ctrl-C (embedded by default).</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var host = new HostCommandOptions("particlegrid-data");
        var models = new Option<string?>("--models")
        {
            Description = "Model folders written by 'train', comma-separated: registered as a set and activated at start",
        };
        var command = new Command("serve", "Runs the ParticleGrid host: an Orleans silo (runs, lots, workers) with its HTTP API, until Ctrl-C.");
        host.AddTo(command);
        command.Options.Add(models);
        command.SetAction((parse, cancellation) => CommandErrors.Guard(async () =>
        {
            await using var app = await host.BuildHostAsync(parse);
            await app.StartAsync(cancellation);
            var options = app.Services.GetRequiredService<ParticleGridOptions>();
            Console.WriteLine($"ParticleGrid {options.Mode.ToString().ToLowerInvariant()} host ({string.Join(',', options.RoleList)}) on {host.Url(parse)}" +
                (options.Mode == HostingMode.Embedded ? $", data in {Path.GetFullPath(options.DataDirectory)}" : ""));
            if (parse.GetValue(models) is { } folders)
            {
                var registry = app.Services.GetRequiredService<IGrainFactory>().GetGrain<IModelRegistryGrain>(ModelRegistryKeys.Site);
                var set = await registry.Register([.. folders.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]);
                await registry.Activate(set.Version);
                Console.WriteLine($"model set {set.Version} active: {string.Join(", ", set.Members.Select(m => m.Version))}");
            }
            Console.WriteLine("HTTP: GET /lots/{lot}, /runs/{run}, /workers, /health/ready. Ctrl-C stops.");
            await HostCommandOptions.WaitForCtrlCAsync(app, cancellation);
            await app.StopAsync(CancellationToken.None);
            return 0;
        }));
        return command;
    }
}
