namespace ParticleGrid.Domain;

/// <summary>
/// The kinds of subvisible particle the product names. The first four are the reference study's classes;
/// <see cref="Fibre"/> stands for what is out of scope for the four-way models (extrinsic material).
/// </summary>
public enum ParticleType
{
    /// <summary>Air bubble: an artefact of handling, excluded from particle counts.</summary>
    Bubble,

    /// <summary>Silicone-oil droplet (intrinsic: siliconised syringes, stoppers, pumps).</summary>
    SiliconeOil,

    /// <summary>Glass particle (intrinsic: vial breakage, delamination).</summary>
    Glass,

    /// <summary>Protein aggregate (inherent: freeze-thaw, agitation, shear, heat).</summary>
    Protein,

    /// <summary>Fibre (extrinsic); not one of the study's four classes.</summary>
    Fibre,

    /// <summary>
    /// Unlike anything the models learned (their out-of-scope score is past its threshold): a particle, counted in the
    /// totals, but never attributed to protein, glass or silicone oil, and queued for review, where it can be named.
    /// </summary>
    Unknown,
}

/// <summary>Names of the particle types as they appear in class folders and reports.</summary>
public static class ParticleTypes
{
    /// <summary>The four types of the reference study, in the order the product uses for class indices.</summary>
    public static IReadOnlyList<ParticleType> StudyTypes { get; } =
        [ParticleType.Bubble, ParticleType.SiliconeOil, ParticleType.Glass, ParticleType.Protein];

    /// <summary>The folder name of a type: "bubble", "silicone_oil", "glass", "protein", "fibre", "unknown".</summary>
    public static string FolderName(ParticleType type) => type switch
    {
        ParticleType.Bubble => "bubble",
        ParticleType.SiliconeOil => "silicone_oil",
        ParticleType.Glass => "glass",
        ParticleType.Protein => "protein",
        ParticleType.Fibre => "fibre",
        ParticleType.Unknown => "unknown",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Not a particle type."),
    };

    /// <summary>The name of a type in prose and tables: "bubble", "silicone oil", "glass", "protein", "fibre".</summary>
    public static string DisplayName(ParticleType type) => FolderName(type).Replace('_', ' ');

    /// <summary>
    /// Reads a class folder name. Case, spaces, hyphens and underscores do not matter, so "silicone_oil",
    /// "Silicone Oil", "silicone-oil" and "SiliconeOil" all read as <see cref="ParticleType.SiliconeOil"/>.
    /// </summary>
    public static bool TryParse(string folderName, out ParticleType type) =>
        FolderNames.TryRead(folderName, Enum.GetValues<ParticleType>(), FolderName, plural: false, out type);
}

/// <summary>
/// Reads class folder names the way a person may have typed them: case, spaces, hyphens and underscores do not matter.
/// Particle types and out-of-scope kinds are both read this way, so a folder renamed by hand is recognised either way.
/// </summary>
internal static class FolderNames
{
    /// <summary>The candidate whose folder name <paramref name="folderName"/> is (or, with <paramref name="plural"/>, its plural with "s").</summary>
    public static bool TryRead<T>(string folderName, IEnumerable<T> candidates, Func<T, string> nameOf, bool plural, out T match)
    {
        ArgumentNullException.ThrowIfNull(folderName);
        string key = Squash(folderName);
        foreach (T candidate in candidates)
        {
            string name = Squash(nameOf(candidate));
            if (key == name || plural && key == name + "s")
            {
                match = candidate;
                return true;
            }
        }
        match = default!;
        return false;
    }

    private static string Squash(string name) =>
        new([.. name.Where(c => c is not ('_' or '-' or ' ')).Select(char.ToLowerInvariant)]);
}
