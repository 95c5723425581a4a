namespace ParticleGrid.Domain;

/// <summary>
/// What a site's instrument images besides the study's four types (DOMAIN.md, "What the four classes do not cover").
/// The four-way models must answer "unknown" for them, so they exist only as test material for that answer: they
/// never enter a training set or the choice of an out-of-scope method.
/// </summary>
public enum OutOfScopeKind
{
    /// <summary>Fibre (extrinsic: cellulose, polymer): a long, thin strand, aspect ratio above 5.</summary>
    Fibre,

    /// <summary>Schlieren: faint refractive-index streaks where liquids of different density mix; not particles.</summary>
    Schlieren,

    /// <summary>Irregular opaque debris: flakes of stainless steel or rubber.</summary>
    Debris,

    /// <summary>Agglomerate: a cluster of small particles, protein with silicone oil, or several droplets stuck together.</summary>
    Agglomerate,
}

/// <summary>Folder names of the out-of-scope kinds, and the fence that keeps them out of training data.</summary>
public static class OutOfScopeKinds
{
    public static IReadOnlyList<OutOfScopeKind> All { get; } =
        [OutOfScopeKind.Fibre, OutOfScopeKind.Schlieren, OutOfScopeKind.Debris, OutOfScopeKind.Agglomerate];

    /// <summary>The folder name of a kind: "fibre", "schlieren", "debris", "agglomerate" ("fibre" as <see cref="ParticleType.Fibre"/>'s).</summary>
    public static string FolderName(OutOfScopeKind kind) => kind switch
    {
        OutOfScopeKind.Fibre => ParticleTypes.FolderName(ParticleType.Fibre),
        OutOfScopeKind.Schlieren => "schlieren",
        OutOfScopeKind.Debris => "debris",
        OutOfScopeKind.Agglomerate => "agglomerate",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not an out-of-scope kind."),
    };

    /// <summary>
    /// Whether a class folder name names an out-of-scope kind, read as loosely as <see cref="ParticleTypes.TryParse"/>
    /// reads type folders (case, spaces, hyphens and underscores do not matter) and in the plural too ("fibres",
    /// "Schlieren", "agglomerates"): a folder a person renamed by hand must still be recognised.
    /// </summary>
    public static bool TryParse(string folderName, out OutOfScopeKind kind) =>
        FolderNames.TryRead(folderName, All, FolderName, plural: true, out kind);
}
