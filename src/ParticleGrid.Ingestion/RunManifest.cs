using System.Text.Json;

namespace ParticleGrid.Ingestion;

/// <summary>
/// <c>run.json</c>, written into a run folder by the instrument PC when the export is complete: what the run is.
/// <c>particlegrid watch</c> ingests a folder only once it has one and nothing in it has changed for a while.
/// </summary>
public sealed record RunManifest(string Lot, string Instrument, string? Sample, double? UmPerPixel, double? VolumeMl, double? ContainerMl)
{
    public const string FileName = "run.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Reads and checks a folder's manifest.</summary>
    /// <exception cref="ArgumentException">It is not valid JSON or lacks the lot or the instrument; the message says which.</exception>
    public static RunManifest Read(string path)
    {
        RunManifest? manifest;
        try { manifest = JsonSerializer.Deserialize<RunManifest>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new ArgumentException($"{path}: not valid JSON ({e.Message})"); }
        if (manifest is null || string.IsNullOrWhiteSpace(manifest.Lot) || string.IsNullOrWhiteSpace(manifest.Instrument))
            throw new ArgumentException($"{path}: needs \"lot\" and \"instrument\"");
        foreach (var (name, value) in new[] { ("umPerPixel", manifest.UmPerPixel), ("volumeMl", manifest.VolumeMl), ("containerMl", manifest.ContainerMl) })
        {
            if (value is { } v && !(v > 0 && double.IsFinite(v))) throw new ArgumentException($"{path}: \"{name}\" must be a positive number");
        }
        return manifest;
    }
}
