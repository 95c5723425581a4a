using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;

namespace ParticleGrid.Host.Hosting;

/// <summary>
/// OpenTelemetry views that make a silo's /metrics pass <c>promtool check metrics</c> where a view can: the .NET
/// runtime's gauges whose names end in "_count" (Prometheus keeps that suffix for histograms and summaries) get names
/// without it, and Orleans' instruments, registered without descriptions, get a help text. What a view cannot change
/// (the units Orleans chose, milliseconds and megabytes, and its camelCase label names) is published again, converted,
/// by <see cref="OrleansMetricsInBaseUnits"/>, and the originals are dropped here. The operations test requires
/// promtool to find nothing at all.
/// </summary>
public static class MetricViews
{
    /// <summary>Runtime gauges renamed: old instrument name → new (the dashboards query the new names).</summary>
    public static readonly IReadOnlyDictionary<string, string> Renamed = new Dictionary<string, string>
    {
        ["dotnet.process.cpu.count"] = "dotnet.process.cpus",
        ["dotnet.assembly.count"] = "dotnet.assemblies.loaded",
        ["dotnet.timer.count"] = "dotnet.timers",
    };

    public static MeterProviderBuilder AddPromtoolCleanViews(this MeterProviderBuilder metrics) => metrics.AddView(View);

    private static MetricStreamConfiguration? View(Instrument instrument)
    {
        // Published again in base units and snake_case labels (OrleansMetricsInBaseUnits): the original would be a
        // second series of the same thing, in the unit promtool refuses.
        if (OrleansMetricsInBaseUnits.Conversion(instrument) is not null) return MetricStreamConfiguration.Drop;
        if (Renamed.TryGetValue(instrument.Name, out string? name))
            return new MetricStreamConfiguration { Name = name, Description = instrument.Description };
        if (instrument.Meter.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && string.IsNullOrWhiteSpace(instrument.Description))
            return new MetricStreamConfiguration { Description = $"Orleans {instrument.Name.Replace('-', ' ')}" };
        return null;
    }
}
