namespace ParticleGrid.Ingestion;

/// <summary>
/// Runs a command's body and turns the failures a user can cause into one line on standard error and exit code 1;
/// Ctrl-C gives 130. Anything else is a bug and keeps its stack trace. Both executables (particlegrid and
/// particlegrid-ingest) answer this way; each says which failures are the user's.
/// </summary>
public static class CommandGuard
{
    public const int Failed = 1, Cancelled = 130;

    /// <param name="explain">The line to print for a failure the user can fix, or null for a bug.</param>
    public static async Task<int> Run(Func<Task<int>> body, Func<Exception, string?> explain)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(explain);
        try
        {
            try { return await body(); }
            catch (AggregateException many) when (many.Flatten().InnerExceptions.Count == 1)
            {
                // Parallel loops wrap what their bodies throw; report the one cause as the user error it is.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(many.Flatten().InnerExceptions[0]);
                throw;
            }
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("cancelled; nothing was written");
            return Cancelled;
        }
        catch (Exception e) when (explain(e) is { } line)
        {
            await Console.Error.WriteLineAsync($"error: {line}");
            return Failed;
        }
    }

    /// <summary>
    /// The failures of sending runs that a user can fix: bad options, folders, exports, an unreachable site. An upload
    /// interrupted by an outage it waited through for --retry-for says in one line what is recorded and how to resume
    /// (<see cref="IngestInterruptedException"/>); so does a site that stays unavailable, or a run that stays paused.
    /// </summary>
    public static bool IsIngestUserError(Exception e) => e is ArgumentException or InvalidOperationException or IOException
        or UnauthorizedAccessException or Ingest.ExportException or Imaging.ParticleImageException
        or Abstractions.ModelSetRefusedException or Abstractions.NoModelSetException or Abstractions.LotChangeRefusedException
        or System.Net.Sockets.SocketException
        or IngestInterruptedException or SiteUnavailableException or Abstractions.RunPausedException;
}

/// <summary>
/// What the ingest and watch commands need from the executable that offers them: where runs go when no --cluster
/// is given, any options for that, and which failures are the user's. The CLI starts an embedded host with the
/// networks; the instrument client (particlegrid-ingest) has no networks and asks for a site instead.
/// </summary>
public abstract class IngestSite
{
    /// <summary>The end of --cluster's description: what is used without it, e.g. "(default: this machine's embedded host)".</summary>
    public abstract string ClusterDefault { get; }

    /// <summary>Options the commands take for the default connection (new ones on each call: an option has one parent).</summary>
    public virtual IReadOnlyList<System.CommandLine.Option> CreateOptions() => [];

    /// <summary>--site: the same commands over a site's HTTP API (<see cref="HttpSiteConnection"/>).</summary>
    public static System.CommandLine.Option<string?> CreateHttpSiteOption() => new("--site")
    {
        Description = $"The site's web address (http(s)://...), to send over HTTP instead of to the gateway silos; the instrument token comes from {HttpSiteConnection.TokenVariable}",
    };

    /// <summary>Over HTTP when <paramref name="httpSite"/> is given, else to the gateways (<see cref="OpenAsync"/>).</summary>
    public async Task<ISiteConnection> ConnectAsync(string? cluster, string? httpSite, System.CommandLine.ParseResult parse, CancellationToken cancellation)
    {
        if (httpSite is null) return await OpenAsync(cluster, parse, cancellation);
        if (cluster is not null) throw new ArgumentException("give --cluster (the gateway silos) or --site (the site's web address), not both");
        return HttpSiteConnection.Open(httpSite);
    }

    /// <summary>Connects to <paramref name="cluster"/>, or to the default the options describe when it is null.</summary>
    public abstract Task<ClusterConnection> OpenAsync(string? cluster, System.CommandLine.ParseResult parse, CancellationToken cancellation);

    /// <summary>Runs a command's body, turning user errors into one line and exit code 1 (<see cref="CommandGuard"/>).</summary>
    public virtual Task<int> Guard(Func<Task<int>> body) =>
        CommandGuard.Run(body, e => CommandGuard.IsIngestUserError(e) ? e.Message : null);
}
