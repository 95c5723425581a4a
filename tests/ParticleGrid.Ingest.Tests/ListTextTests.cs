using System.Text;

namespace ParticleGrid.Ingest.Tests;

/// <summary>The list parsing: RFC 4180 CSV, delimiters, encodings, line numbers, column names.</summary>
public sealed class ListTextTests : IDisposable
{
    private readonly TemporaryFolder _run = new();

    public void Dispose() => _run.Dispose();

    private static List<TextRecord> Csv(string text, char delimiter = ',')
    {
        using ListText list = ListText.Over(text);
        var records = new List<TextRecord>();
        while (list.ReadCsvRecord(delimiter) is { } record) records.Add(record);
        return records;
    }

    [Fact]
    public void Quoted_fields_hold_delimiters_doubled_quotes_and_line_breaks()
    {
        List<TextRecord> records = Csv("a,\"b, c\",\"say \"\"hi\"\"\"\r\n1,\"two\nlines\",3\n4,,\"\"\n");

        Assert.Equal(["a", "b, c", "say \"hi\""], records[0].Fields);
        Assert.Equal(["1", "two\nlines", "3"], records[1].Fields);
        Assert.Equal(["4", "", ""], records[2].Fields);
        Assert.Equal([1, 2, 4], records.Select(r => r.Line)); // the record after the quoted line break starts on line 4
    }

    [Fact]
    public void A_stray_quote_inside_a_field_is_kept_and_a_last_line_needs_no_break()
    {
        Assert.Equal(["5\" disk", "x"], Csv("5\" disk,x")[0].Fields);
    }

    [Fact]
    public void A_record_longer_than_the_limit_is_read_past_not_kept()
    {
        string huge = new('x', ListText.MaxRecordChars + 10);
        List<TextRecord> records = Csv($"{huge},1\n\"{huge}\n2,3\n"); // the second quote never closes: the rest is one record

        Assert.True(records[0].TooLong);
        Assert.Empty(records[0].Fields);
        Assert.True(records[1].TooLong);
        Assert.Equal(2, records.Count);
    }

    [Theory]
    [InlineData("ECD (µm)", nameof(ListColumn.EcdMicrometres))]
    [InlineData("ecd_um", nameof(ListColumn.EcdMicrometres))]
    [InlineData("DIAMETER (ESD)", nameof(ListColumn.EcdMicrometres))]
    [InlineData("esd_diameter", nameof(ListColumn.EcdMicrometres))]
    [InlineData("Diameter (ABD)", nameof(ListColumn.AbdDiameterMicrometres))]
    [InlineData("Particle #", nameof(ListColumn.ParticleId))]
    [InlineData(" particle_id ", nameof(ListColumn.ParticleId))]
    [InlineData("image_w", nameof(ListColumn.BoxWidth))]
    [InlineData("Image Width", nameof(ListColumn.BoxWidth))]
    [InlineData("Intensity Mean", nameof(ListColumn.MeanIntensity))]
    [InlineData("collage_file", nameof(ListColumn.ImageFile))]
    [InlineData("Filename", nameof(ListColumn.ImageFile))]
    [InlineData("calibration_factor", nameof(ListColumn.MicrometresPerPixel))]
    public void Column_names_match_whatever_their_case_spaces_underscores_and_parentheses(string name, string column)
    {
        Assert.Equal(1, new ListColumns(["unrelated", name]).IndexOf(Enum.Parse<ListColumn>(column)));
    }

    [Fact]
    public void A_csv_list_may_have_a_bom_comments_before_its_header_and_blank_lines()
    {
        File.WriteAllBytes(_run.File("list.csv"), [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("# exported\n\nParticle ID;ECD\n\n7;1,5\n")]);
        var run = RunFolder.Open(_run.Path);

        using ParticleList list = ParticleList.Open(run, "list.csv");
        ListRow row = Assert.Single(list.Rows());

        Assert.Equal(["Particle ID", "ECD"], list.Columns.Header);
        Assert.Equal("list.csv row 5", row.Source);
        Assert.Equal("7", row.Text(ListColumn.ParticleId));
        Assert.False(row.TryNumber(ListColumn.EcdMicrometres, out _)); // a decimal comma is not an invariant number
    }
}
