namespace ParticleGrid.Ingest;

/// <summary>The columns of a particle list that the readers use, whatever the instrument calls them.</summary>
internal enum ListColumn
{
    ParticleId,

    /// <summary>The image file: the particle's own (MFI, particles.csv) or its collage (FlowCAM).</summary>
    ImageFile,

    /// <summary>The equivalent diameter in micrometres (ECD, or FlowCAM's ESD).</summary>
    EcdMicrometres,

    /// <summary>FlowCAM's area-based diameter: the size when the list has no ESD.</summary>
    AbdDiameterMicrometres,

    AbdAreaSquareMicrometres,
    MicrometresPerPixel,
    AspectRatio,
    Circularity,
    MeanIntensity,

    /// <summary>The particle's box in its collage (FlowCAM), in pixels.</summary>
    BoxX,
    BoxY,
    BoxWidth,
    BoxHeight,
}

/// <summary>
/// Which column of a list header holds what. Names are matched after squashing case, spaces, underscores and
/// parentheses (and reading 'µ' as 'u'), so "Diameter (ESD)", "diameter_esd" and "DIAMETER ESD" are one name.
/// The first column that matches wins.
/// </summary>
internal sealed class ListColumns
{
    /// <summary>
    /// Every name each column goes by, as the exports write them: FlowCAM's .lst field and its CSV header, MFI's CSV
    /// header, and an image folder's particles.csv.
    /// </summary>
    private static readonly (ListColumn Column, string[] Names)[] Aliases =
    [
        (ListColumn.ParticleId, ["id", "Particle ID", "Particle #", "particle_id"]),
        (ListColumn.ImageFile, ["collage_file", "Image File", "Filename", "Image", "file"]),
        (ListColumn.EcdMicrometres, ["esd_diameter", "Diameter (ESD)", "ECD (µm)", "ECD (um)", "ECD", "ecd_um", "esd_um", "diameter_um"]),
        (ListColumn.AbdDiameterMicrometres, ["abd_diameter", "Diameter (ABD)"]),
        (ListColumn.AbdAreaSquareMicrometres, ["abd_area", "Area (ABD)"]),
        (ListColumn.MicrometresPerPixel, ["calibration_factor", "Calibration Factor", "um_per_pixel"]),
        (ListColumn.AspectRatio, ["aspect_ratio", "Aspect Ratio"]),
        (ListColumn.Circularity, ["circularity", "Circularity"]),
        (ListColumn.MeanIntensity, ["intensity", "Intensity", "Intensity Mean", "Mean Intensity", "mean_intensity"]),
        (ListColumn.BoxX, ["image_x", "Image X"]),
        (ListColumn.BoxY, ["image_y", "Image Y"]),
        (ListColumn.BoxWidth, ["image_w", "Image Width"]),
        (ListColumn.BoxHeight, ["image_h", "Image Height"]),
    ];

    private static readonly Dictionary<string, ListColumn> BySquashedName = Aliases
        .SelectMany(alias => alias.Names.Select(name => (Name: Squash(name), alias.Column)))
        .DistinctBy(pair => pair.Name)
        .ToDictionary(pair => pair.Name, pair => pair.Column);

    private readonly Dictionary<ListColumn, int> _indexes = [];

    public ListColumns(IReadOnlyList<string> header)
    {
        Header = header;
        for (int i = 0; i < header.Count; i++)
        {
            if (BySquashedName.TryGetValue(Squash(header[i]), out ListColumn column)) _indexes.TryAdd(column, i);
        }
    }

    /// <summary>The header's names as written.</summary>
    public IReadOnlyList<string> Header { get; }

    public bool Has(ListColumn column) => _indexes.ContainsKey(column);

    /// <summary>The column's position in a row, or null when the header has no such column.</summary>
    public int? IndexOf(ListColumn column) => _indexes.TryGetValue(column, out int index) ? index : null;

    /// <summary>The column that gives the particle's size: ECD / ESD, else FlowCAM's ABD diameter; null when neither is there.</summary>
    public ListColumn? SizeColumn =>
        Has(ListColumn.EcdMicrometres) ? ListColumn.EcdMicrometres
        : Has(ListColumn.AbdDiameterMicrometres) ? ListColumn.AbdDiameterMicrometres
        : null;

    /// <summary>Every name a column goes by, for messages: "esd_diameter / Diameter (ESD) / ECD (µm) / ...".</summary>
    public static string Describe(ListColumn column) => string.Join(" / ", Aliases.First(alias => alias.Column == column).Names);

    internal static string Squash(string name)
    {
        var squashed = new System.Text.StringBuilder(name.Length);
        foreach (char c in name.Trim())
        {
            if (c is ' ' or '_' or '(' or ')' or '\t') continue;
            squashed.Append(c is 'µ' or 'μ' ? 'u' : char.ToLowerInvariant(c));
        }
        return squashed.ToString();
    }
}
