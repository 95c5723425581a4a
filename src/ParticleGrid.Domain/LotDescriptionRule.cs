using System.Globalization;

namespace ParticleGrid.Domain;

/// <summary>
/// Who may change what a lot is. A lot's container volume turns per-mL counts into per-container ones, so it changes
/// the lot's verdict; its product names what QA judges. Once set, neither may change silently: every run of a lot sends
/// its description again, so sending the value already stored is no change, a value given for the first time is
/// recorded, and an empty value keeps what is stored (an instrument that does not know the product cannot erase it).
/// Anything else is a change of a value already set, which only an admin makes, with a reason that is audited.
/// </summary>
public static class LotDescriptionRule
{
    /// <summary>What describing a lot again would do.</summary>
    /// <param name="ContainerVolumeMl">The volume after the merge (the stored one unless it was unset).</param>
    /// <param name="Product">The product after the merge (the stored one unless it was unset).</param>
    /// <param name="Changes">Each value already set that the new description would change, in words ("container volume 2 mL -> 3 mL"); empty when none.</param>
    public sealed record Outcome(double? ContainerVolumeMl, string? Product, IReadOnlyList<string> Changes);

    /// <summary>
    /// The lot as the new description leaves it, and what it would change of values already set. <see cref="Outcome.Changes"/>
    /// empty: anyone who may start a run may record it. Not empty: an instrument's description is refused (the caller
    /// says so), an admin's change writes the merged values with <paramref name="volumeMl"/> and <paramref name="product"/> taking the place of the stored ones.
    /// </summary>
    public static Outcome Merge(double? storedVolumeMl, string? storedProduct, double? volumeMl, string? product)
    {
        var changes = new List<string>();
        if (volumeMl is { } v && storedVolumeMl is { } sv && v != sv)
            changes.Add($"container volume {Ml(sv)} -> {Ml(v)}");
        string? trimmed = string.IsNullOrWhiteSpace(product) ? null : product.Trim();
        if (trimmed is not null && storedProduct is not null && trimmed != storedProduct)
            changes.Add($"product '{storedProduct}' -> '{trimmed}'");
        return new Outcome(volumeMl ?? storedVolumeMl, trimmed ?? storedProduct, changes);
    }

    private static string Ml(double volume) => volume.ToString("0.###", CultureInfo.InvariantCulture) + " mL";
}
