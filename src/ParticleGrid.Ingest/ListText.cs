using System.Text;

namespace ParticleGrid.Ingest;

/// <summary>One record of a list file: its fields and the line it starts on (1-based).</summary>
/// <param name="TooLong">The record ran past <see cref="ListText.MaxRecordChars"/>; its fields were not kept.</param>
internal sealed record TextRecord(int Line, string[] Fields, bool TooLong);

/// <summary>
/// Reads a particle list's text: UTF-8 with or without a byte-order mark (other BOMs are honoured too), lines ending
/// in LF, CRLF or CR. Records are either whole lines (FlowCAM .lst) or RFC 4180 CSV records: fields separated by a
/// delimiter, quoted fields holding delimiters, line breaks and doubled quotes. Lenient where RFC 4180 is strict: a
/// quote inside an unquoted field is kept as a character. No record is held beyond <see cref="MaxRecordChars"/>
/// characters, so a file without line breaks (or with a quote that never closes) costs no more memory than that.
/// </summary>
internal sealed class ListText : IDisposable
{
    /// <summary>The longest record kept; a longer one is read past and reported as too long.</summary>
    public const int MaxRecordChars = 1 << 20;

    private readonly TextReader _text;
    private int _line = 1;

    private ListText(TextReader text) => _text = text;

    /// <exception cref="IOException">The file cannot be opened.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be opened.</exception>
    public static ListText Open(string path) =>
        new(new StreamReader(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false),
            detectEncodingFromByteOrderMarks: true));

    internal static ListText Over(string text) => new(new StringReader(text));

    public void Dispose() => _text.Dispose();

    /// <summary>The next line as one field, or null at the end of the file.</summary>
    public TextRecord? ReadLine()
    {
        int start = _line;
        int c = _text.Read();
        if (c < 0) return null;
        var record = new RecordBuilder();
        for (; c >= 0 && !EndsLine(c); c = _text.Read()) record.Add((char)c);
        return record.Finish(start);
    }

    /// <summary>The next CSV record, or null at the end of the file. A blank line is a record of one empty field.</summary>
    public TextRecord? ReadCsvRecord(char delimiter)
    {
        int start = _line;
        int c = _text.Read();
        if (c < 0) return null;
        var record = new RecordBuilder();
        bool inQuotes = false;
        for (; c >= 0; c = _text.Read())
        {
            if (inQuotes)
            {
                if (c != '"')
                {
                    if (c == '\n' || (c == '\r' && _text.Peek() != '\n')) _line++;
                    record.Add((char)c);
                }
                else if (_text.Peek() == '"')
                {
                    _text.Read();
                    record.Add('"');
                }
                else
                {
                    inQuotes = false;
                }
            }
            else if (c == '"' && record.FieldIsEmpty) inQuotes = true;
            else if (c == delimiter) record.EndField();
            else if (EndsLine(c)) break;
            else record.Add((char)c);
        }
        return record.Finish(start);
    }

    /// <summary>True (and the line counted) when <paramref name="c"/> ends a line; a CR followed by LF ends one line.</summary>
    private bool EndsLine(int c)
    {
        if (c is not ('\n' or '\r')) return false;
        if (c == '\r' && _text.Peek() == '\n') _text.Read();
        _line++;
        return true;
    }

    /// <summary>Collects a record's fields up to <see cref="MaxRecordChars"/> characters, then only counts.</summary>
    private sealed class RecordBuilder
    {
        private readonly List<string> _fields = [];
        private readonly StringBuilder _field = new();
        private long _fieldChars;
        private long _length;

        public bool FieldIsEmpty => _fieldChars == 0;

        public void Add(char c)
        {
            _fieldChars++;
            if (++_length <= MaxRecordChars) _field.Append(c);
        }

        public void EndField()
        {
            if (++_length <= MaxRecordChars) _fields.Add(_field.ToString());
            _field.Clear();
            _fieldChars = 0;
        }

        public TextRecord Finish(int line)
        {
            bool tooLong = _length > MaxRecordChars;
            _fields.Add(_field.ToString());
            return new TextRecord(line, tooLong ? [] : [.. _fields], tooLong);
        }
    }
}
