// particlegrid-gateway: one gateway silo of a site's cluster and its HTTP API, with no network in the process.
//
// Configuration as for `particlegrid serve`: appsettings.json, PARTICLEGRID__* environment variables (for example
// PARTICLEGRID__POSTGRESCONNECTIONSTRING), then arguments (--urls http://0.0.0.0:8080, --ParticleGrid:SiloPort=11111).
// The role is always the gateway: a worker needs the networks, which this executable leaves out on purpose.
using ParticleGrid.Grains.Placement;
using ParticleGrid.Host.Hosting;

try
{
    var app = await ParticleGridHost.BuildAsync(args, options =>
    {
        // One process with no worker could never classify anything: the embedded mode is the CLI's (`particlegrid serve`).
        if (options.Mode != HostingMode.Cluster)
            throw new ArgumentException("particlegrid-gateway runs in cluster mode only (PARTICLEGRID__MODE=Cluster, with " +
                                        "PARTICLEGRID__POSTGRESCONNECTIONSTRING); for one process with its own workers run 'particlegrid serve'");
        options.Roles = SiloRoles.Gateway;
    });
    await app.RunAsync();
    return 0;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"particlegrid-gateway: {e.Message}");
    return 2;
}
