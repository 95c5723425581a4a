namespace ParticleGrid.Domain;

/// <summary>USP &lt;1787&gt;'s categories of particles (DOMAIN.md).</summary>
public enum ParticleCategory
{
    /// <summary>From the molecule and formulation: protein aggregates.</summary>
    Inherent,

    /// <summary>From process equipment or packaging: glass, stainless steel, gaskets, silicone oil.</summary>
    Intrinsic,

    /// <summary>Foreign: hair, fibres, minerals, insect parts.</summary>
    Extrinsic,

    /// <summary>Not a particle of the product: air bubbles.</summary>
    Artefact,

    /// <summary>Could not be classified; a reviewer should look.</summary>
    Unknown,
}

/// <summary>One type's place in a lot: how much it contributes and where it probably comes from.</summary>
/// <param name="Share">Its count over all counted particles (bubbles excluded); for bubbles, over all particle images.</param>
public sealed record TypeSource(string Type, int Count, double Share, ParticleCategory Category, IReadOnlyList<string> Sources);

/// <summary>
/// Traceability: knowing the type points to the source, so the process can be fixed (the reference study's purpose).
/// Each type's USP &lt;1787&gt; category and probable sources, ranked by how much the type contributes to the lot.
/// </summary>
public static class Traceability
{
    public static (ParticleCategory Category, IReadOnlyList<string> Sources) Of(string type) => type switch
    {
        "protein" => (ParticleCategory.Inherent, ["freeze-thaw cycles", "agitation and shear (shipping, pumping, stirring)", "heat", "air-liquid and silicone-oil interfaces"]),
        "silicone_oil" => (ParticleCategory.Intrinsic, ["siliconised syringe barrels and plungers", "siliconised stoppers", "pumps and filling equipment"]),
        "glass" => (ParticleCategory.Intrinsic, ["vial breakage or chipping on the line", "glass delamination (formulation pH, terminal sterilisation)"]),
        "fibre" => (ParticleCategory.Extrinsic, ["garments, wipes and filters", "the filling environment"]),
        "unknown" => (ParticleCategory.Unknown, ["unlike the particles the models were trained on (a fibre, schlieren, rubber, steel, an agglomerate?): review the particle images"]),
        "bubble" => (ParticleCategory.Artefact, ["air drawn in while pipetting, shaking or filling the sample (handling, not the product)"]),
        _ => (ParticleCategory.Unknown, ["not classified: review the particle images"]),
    };

    /// <summary>The lot's types with their sources, the largest contributor first, bubbles last (artefacts).</summary>
    public static IReadOnlyList<TypeSource> Rank(LotProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        int counted = profile.ParticlesExcludingBubbles.Count;
        return [.. profile.Types.Where(t => t.Count > 0)
            .Select(t =>
            {
                var (category, sources) = Of(t.Type);
                double share = t.CountsAsParticle ? (counted == 0 ? 0 : (double)t.Count / counted) : (profile.Particles == 0 ? 0 : (double)t.Count / profile.Particles);
                return new TypeSource(t.Type, t.Count, share, category, sources);
            })
            .OrderBy(s => s.Category == ParticleCategory.Artefact)
            .ThenByDescending(s => s.Share)];
    }
}
