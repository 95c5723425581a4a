using ParticleGrid.Domain;

namespace ParticleGrid.Ingest;

/// <summary>What a list row says about its particle besides the image.</summary>
internal sealed record RowMeasurements(double? EcdMicrometres, double? MicrometresPerPixel, ParticleShape? Shape)
{
    public static readonly RowMeasurements None = new(null, null, null);

    /// <summary>The particle these measurements describe, with its image.</summary>
    public ExportEntry Particle(string id, byte[] image, string source, string? classLabel = null) =>
        new(new ExportParticle(id, image, source, EcdMicrometres, MicrometresPerPixel, Shape, classLabel), null);
}

/// <summary>Builds rejections whose message starts with the item's source and stays on one line.</summary>
internal static class Rejections
{
    public static ExportRejection Of(string source, RejectionReason reason, string cause) =>
        new(source, reason, OneLine($"{source}: {cause}"));

    public static ExportEntry Entry(string source, RejectionReason reason, string cause) => new(null, Of(source, reason, cause));

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}

/// <summary>The checks every reader makes of a list row and of a particle id, each returning the rejection or null.</summary>
internal static class RowChecks
{
    /// <summary>A row that is too long or has the wrong number of fields: BadRow.</summary>
    public static ExportEntry? Shape(ListRow row) =>
        row.Problem is { } problem ? Rejections.Entry(row.Source, RejectionReason.BadRow, problem) : null;

    /// <summary>
    /// An id that breaks the rule is BadRow; one the run has had before is DuplicateId (the first keeps it). Otherwise the
    /// id is claimed in <paramref name="claimed"/>.
    /// </summary>
    public static ExportEntry? ClaimId(string id, string source, HashSet<string> claimed)
    {
        if (id.Length == 0) return Rejections.Entry(source, RejectionReason.BadRow, "no particle id");
        if (!Identifiers.IsValid(id))
        {
            return Rejections.Entry(source, RejectionReason.BadRow, $"particle id '{Shorten(id)}' is not valid: {Identifiers.Rule}");
        }
        if (!claimed.Add(id)) return Rejections.Entry(source, RejectionReason.DuplicateId, $"particle id '{id}' is already in this run");
        return null;
    }

    /// <summary>
    /// Reads the size, calibration and morphology of a row. A cell that is not a number is BadRow; a size that is NaN,
    /// infinite or negative is BadSize, and so is an empty one when <paramref name="sizeRequired"/> (else it is null).
    /// A calibration must be positive; morphology values must be finite.
    /// </summary>
    /// <param name="source">Names the particle in a rejection (the row, or the file and its row).</param>
    public static ExportEntry? Measurements(ListRow row, string source, bool sizeRequired, out RowMeasurements measurements)
    {
        measurements = RowMeasurements.None;
        double? ecd = null;
        if (row.Columns.SizeColumn is { } sizeColumn)
        {
            if (!row.TryNumber(sizeColumn, out ecd)) return NotANumber(row, source, sizeColumn);
            if (ecd is { } size && !(size >= 0 && double.IsFinite(size)))
            {
                return Rejections.Entry(source, RejectionReason.BadSize, $"{row.NameOf(sizeColumn)} {size} is not a size in micrometres");
            }
        }
        if (ecd is null && sizeRequired)
        {
            string column = row.Columns.SizeColumn is { } c ? row.NameOf(c) : "size";
            return Rejections.Entry(source, RejectionReason.BadSize, $"no size: {column} is empty");
        }

        if (!row.TryNumber(ListColumn.MicrometresPerPixel, out double? scale)) return NotANumber(row, source, ListColumn.MicrometresPerPixel);
        if (scale is { } s && !(s > 0 && double.IsFinite(s)))
        {
            return Rejections.Entry(source, RejectionReason.BadRow, $"{row.NameOf(ListColumn.MicrometresPerPixel)} {s} is not a positive number of micrometres per pixel");
        }

        ParticleShape? morphology = null;
        ListColumn[] shape = [ListColumn.AbdAreaSquareMicrometres, ListColumn.AspectRatio, ListColumn.Circularity, ListColumn.MeanIntensity];
        if (shape.Any(row.Columns.Has))
        {
            var values = new double?[shape.Length];
            for (int i = 0; i < shape.Length; i++)
            {
                if (!row.TryNumber(shape[i], out values[i]) || values[i] is { } v && !double.IsFinite(v)) return NotANumber(row, source, shape[i]);
            }
            morphology = new ParticleShape(values[0], values[1], values[2], values[3]);
        }

        measurements = new RowMeasurements(ecd, scale, morphology);
        return null;
    }

    private static ExportEntry NotANumber(ListRow row, string source, ListColumn column) =>
        Rejections.Entry(source, RejectionReason.BadRow, $"{row.NameOf(column)} '{Shorten(row.Text(column) ?? "")}' is not a number");

    /// <summary>A cell as it can be quoted in a one-line message: at most 40 characters.</summary>
    internal static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
