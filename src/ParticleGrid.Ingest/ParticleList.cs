using System.Globalization;
using System.Numerics;

namespace ParticleGrid.Ingest;

/// <summary>One particle's row of a list, with what is wrong with its shape, if anything.</summary>
internal sealed class ListRow(string listName, TextRecord record, ListColumns columns)
{
    public ListColumns Columns { get; } = columns;

    /// <summary>"data.lst row 12": the list and the line the row starts on.</summary>
    public string Source { get; } = $"{listName} row {record.Line}";

    /// <summary>Why the row cannot be read field by field (too long, the wrong number of fields), or null.</summary>
    public string? Problem =>
        record.TooLong ? $"longer than {ListText.MaxRecordChars:N0} characters"
        : record.Fields.Length != Columns.Header.Count ? $"has {record.Fields.Length} fields; the header has {Columns.Header.Count}"
        : null;

    /// <summary>The column's trimmed text; null when the list has no such column or the cell is empty.</summary>
    public string? Text(ListColumn column) =>
        Columns.IndexOf(column) is { } index && record.Fields[index].Trim() is { Length: > 0 } text ? text : null;

    /// <summary>
    /// The column's number (invariant culture: '.' for decimals, "NaN" and "Infinity" are numbers); null when absent or
    /// empty. False when the cell holds something else.
    /// </summary>
    public bool TryNumber(ListColumn column, out double? value) => TryRead(column, NumberStyles.Float, out value);

    /// <summary>The column's whole number, or null when absent or empty; false when the cell holds anything else.</summary>
    public bool TryInteger(ListColumn column, out int? value) => TryRead(column, NumberStyles.AllowLeadingSign, out value);

    /// <summary>
    /// The column's value read as <typeparamref name="T"/> in <paramref name="styles"/> (invariant culture); null when the
    /// column is absent or its cell empty, which is no error (lists leave optional cells blank); false when the cell holds
    /// something that does not read as one.
    /// </summary>
    private bool TryRead<T>(ListColumn column, NumberStyles styles, out T? value) where T : struct, INumberBase<T>
    {
        value = null;
        if (Text(column) is not { } text) return true;
        if (!T.TryParse(text, styles, CultureInfo.InvariantCulture, out T number)) return false;
        value = number;
        return true;
    }

    /// <summary>The header's name for a column, for messages.</summary>
    public string NameOf(ListColumn column) => Columns.IndexOf(column) is { } index ? Columns.Header[index] : ListColumns.Describe(column);
}

/// <summary>
/// A particle list at the top of a run folder: a FlowCAM .lst, or a CSV (FlowCAM's export, MFI's, an image folder's
/// particles.csv). The header is read when the list is opened; rows are read one at a time.
/// </summary>
/// <remarks>
/// The .lst layout: line 1 a format version ("016"), line 2 "num-fields|N", then N lines "name|type code", then one
/// line per particle with N values separated by '|'. A CSV may start with blank lines and '#' comments; its header is
/// the first other line, and its delimiter is ',' unless the header has none and has ';' or a tab instead.
/// </remarks>
internal sealed class ParticleList : IDisposable
{
    /// <summary>The most fields a .lst may declare.</summary>
    private const int MaxLstFields = 10_000;

    private readonly ListText _text;
    private readonly string _path;
    private readonly char? _csvDelimiter;

    private ParticleList(string name, string path, ListText text, ListColumns columns, char? csvDelimiter)
    {
        Name = name;
        _path = path;
        _text = text;
        Columns = columns;
        _csvDelimiter = csvDelimiter;
    }

    /// <summary>The list's file name, for reports.</summary>
    public string Name { get; }

    public ListColumns Columns { get; }

    public static bool IsLst(string fileName) => fileName.EndsWith(".lst", StringComparison.OrdinalIgnoreCase);

    public static bool IsCsv(string fileName) => fileName.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);

    /// <summary>Opens the list <paramref name="name"/> at the top of <paramref name="run"/> and reads its header.</summary>
    /// <exception cref="ExportException">The list cannot be read, or its header is not one.</exception>
    public static ParticleList Open(RunFolder run, string name)
    {
        string shownPath = Path.Join(run.Given, name);
        Located file = run.Locate(name);
        if (file.Problem is { } problem) throw new ExportException(shownPath, problem);
        ListText text;
        try
        {
            text = ListText.Open(file.FullPath!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ExportException(shownPath, $"cannot be read: {e.Message}");
        }
        try
        {
            (IReadOnlyList<string> header, char? delimiter) = IsLst(name)
                ? (Guard(shownPath, () => ReadLstHeader(text, shownPath)), null)
                : Guard(shownPath, () => ReadCsvHeader(text, shownPath));
            return new ParticleList(name, shownPath, text, new ListColumns(header), delimiter);
        }
        catch
        {
            text.Dispose();
            throw;
        }
    }

    /// <summary>The header of the CSV <paramref name="name"/>, or null when it cannot be read as one (for choosing a reader).</summary>
    public static ListColumns? PeekCsvHeader(RunFolder run, string name)
    {
        try
        {
            using ParticleList list = Open(run, name);
            return list.Columns;
        }
        catch (ExportException)
        {
            return null;
        }
    }

    public void Dispose() => _text.Dispose();

    /// <summary>Checks that the header has every column in <paramref name="required"/>, and a size column when <paramref name="size"/>.</summary>
    /// <exception cref="ExportException">Some are missing; the message names them all.</exception>
    public void Require(IEnumerable<ListColumn> required, bool size)
    {
        var missing = required.Where(column => !Columns.Has(column)).Select(ListColumns.Describe).ToList();
        if (size && Columns.SizeColumn is null) missing.Add($"{ListColumns.Describe(ListColumn.EcdMicrometres)} / {ListColumns.Describe(ListColumn.AbdDiameterMicrometres)}");
        if (missing.Count > 0) throw new ExportException(_path, $"the header lacks {string.Join("; ", missing.Select(names => $"a column {names}"))}");
    }

    /// <summary>The rows after the header, blank lines left out.</summary>
    /// <exception cref="ExportException">The file cannot be read any further (an I/O error).</exception>
    public IEnumerable<ListRow> Rows()
    {
        while (Guard(_path, ReadRecord) is { } record)
        {
            bool blank = !record.TooLong && record.Fields is [var only] && string.IsNullOrWhiteSpace(only);
            if (!blank) yield return new ListRow(Name, record, Columns);
        }
    }

    private TextRecord? ReadRecord()
    {
        if (_csvDelimiter is { } delimiter) return _text.ReadCsvRecord(delimiter);
        TextRecord? line = _text.ReadLine();
        return line is { TooLong: false } ? line with { Fields = line.Fields[0].Split('|') } : line;
    }

    private static IReadOnlyList<string> ReadLstHeader(ListText text, string path)
    {
        string version = text.ReadLine() is { TooLong: false, Fields: [var first] } ? first.Trim() : "";
        if (version.Length == 0 || !version.All(char.IsAsciiDigit))
        {
            throw new ExportException(path, "not a FlowCAM .lst: line 1 is not a format version number (e.g. 016)");
        }

        string[] count = text.ReadLine() is { TooLong: false, Fields: [var second] } ? second.Split('|') : [];
        if (count is not [var name, var value] || !name.Trim().Equals("num-fields", StringComparison.OrdinalIgnoreCase)
            || !int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int fields) || fields is < 1 or > MaxLstFields)
        {
            throw new ExportException(path, $"not a FlowCAM .lst: line 2 is not \"num-fields|N\" with N from 1 to {MaxLstFields}");
        }

        var header = new List<string>(fields);
        for (int i = 0; i < fields; i++)
        {
            if (text.ReadLine() is not { TooLong: false, Fields: [var definition] } || definition.Split('|') is not [var field, _])
            {
                throw new ExportException(path, $"not a FlowCAM .lst: field {i + 1} of {fields} is not a line \"name|type code\"");
            }
            header.Add(field.Trim());
        }
        return header;
    }

    private static (IReadOnlyList<string> Header, char? Delimiter) ReadCsvHeader(ListText text, string path)
    {
        while (text.ReadLine() is { } line)
        {
            if (line.TooLong) throw new ExportException(path, $"the header line is longer than {ListText.MaxRecordChars:N0} characters");
            string header = line.Fields[0];
            if (header.Trim() is "" || header.TrimStart().StartsWith('#')) continue;
            char delimiter = header.Contains(',') ? ',' : header.Contains(';') ? ';' : header.Contains('\t') ? '\t' : ',';
            using ListText headerText = ListText.Over(header);
            return (headerText.ReadCsvRecord(delimiter)!.Fields.Select(name => name.Trim()).ToArray(), delimiter);
        }
        throw new ExportException(path, "no header line");
    }

    /// <summary>Runs a read of the list file, turning an I/O error into the list's <see cref="ExportException"/>.</summary>
    private static T Guard<T>(string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ExportException(path, $"cannot be read: {e.Message}");
        }
    }
}

/// <summary>Finds the particle list each format reads at the top of a run folder.</summary>
internal static class ParticleLists
{
    /// <summary>An image folder's own list of measurements; it never makes a folder FlowCAM or MFI.</summary>
    public const string ImageFolderList = "particles.csv";

    /// <summary>The first .lst (ordinal name order), else the first CSV whose header has the collage box columns.</summary>
    public static string? FindFlowCamList(RunFolder run)
    {
        IReadOnlyList<string> files = run.List("", folders: false);
        return files.FirstOrDefault(ParticleList.IsLst)
            ?? FirstCsv(run, files, columns => columns.Has(ListColumn.BoxX) && columns.Has(ListColumn.BoxY)
                && columns.Has(ListColumn.BoxWidth) && columns.Has(ListColumn.BoxHeight));
    }

    /// <summary>The first CSV (ordinal name order) whose header has a particle id, an ECD and an image-file column.</summary>
    public static string? FindMfiList(RunFolder run) =>
        FirstCsv(run, run.List("", folders: false), columns => columns.Has(ListColumn.ParticleId)
            && columns.Has(ListColumn.EcdMicrometres) && columns.Has(ListColumn.ImageFile));

    private static string? FirstCsv(RunFolder run, IReadOnlyList<string> files, Func<ListColumns, bool> fits) =>
        files.Where(name => ParticleList.IsCsv(name) && !name.Equals(ImageFolderList, StringComparison.OrdinalIgnoreCase))
            .FirstOrDefault(name => ParticleList.PeekCsvHeader(run, name) is { } columns && fits(columns));
}
