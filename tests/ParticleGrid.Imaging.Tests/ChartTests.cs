using ParticleGrid.Domain;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Imaging.Tests;

public sealed class ChartTests : IDisposable
{
    private static readonly string[] Classes = ["bubble", "silicone_oil", "glass", "protein"];
    private readonly TemporaryFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static ClassificationReport Report()
    {
        var random = new Random(5);
        var actual = new List<int>();
        var probabilities = new List<IReadOnlyList<float>>();
        for (int c = 0; c < Classes.Length; c++)
        for (int i = 0; i < 12; i++)
        {
            float[] p = [.. Enumerable.Range(0, 4).Select(k => (float)random.NextDouble() * 0.4f + (k == c ? 0.5f : 0f))];
            if (c == 2 && i < 3) p[3] += 0.6f; // glass read as protein, the study's typical error
            actual.Add(c);
            probabilities.Add(p);
        }
        return ClassificationReport.From(Classes, actual, probabilities);
    }

    private static int CountNot(Image<Rgb24> image, Rgb24 background)
    {
        int count = 0;
        for (int y = 0; y < image.Height; y++)
        for (int x = 0; x < image.Width; x++)
            if (image[x, y] != background) count++;
        return count;
    }

    [Fact]
    public void Confusion_chart_is_a_png_of_its_layout_size_with_shaded_cells()
    {
        ClassificationReport report = Report();
        string path = _folder.File("charts/confusion.png"); // the folder does not exist yet

        ConfusionMatrixChart.Save(report.Confusion, "ResNet50 validation", path);

        using Image<Rgb24> chart = Image.Load<Rgb24>(path);
        ConfusionMatrixChart.Layout layout = ConfusionMatrixChart.Layout.For(report.Confusion, "ResNet50 validation");
        Assert.Equal((layout.Chart.Width, layout.Chart.Height), (chart.Width, chart.Height));
        Assert.InRange(chart.Width, 400, 1200);
        Assert.True(CountNot(chart, new Rgb24(255, 255, 255)) > chart.Width * chart.Height / 10);

        // Bubble's row is all correct: its diagonal cell is deep blue at the corner; an empty cell stays white.
        Rectangle grid = layout.Chart.Plot;
        Rgb24 diagonal = chart[grid.Left + 3, grid.Top + 3];
        Rgb24 empty = chart[grid.Left + 3 * layout.Cell + 3, grid.Top + 3];
        Assert.True(report.Confusion[0, 3] == 0 && report.Confusion[0, 0] == 12);
        Assert.True(diagonal.B > diagonal.R + 60, $"diagonal cell {diagonal}");
        Assert.Equal(new Rgb24(255, 255, 255), empty);
    }

    [Fact]
    public void Confusion_chart_grows_for_long_titles_and_names()
    {
        var matrix = new ConfusionMatrix(["a_very_long_class_name", "b"]);
        var layout = ConfusionMatrixChart.Layout.For(matrix, new string('T', 120));
        Assert.True(layout.Chart.Width >= BitmapFont.MeasureWidth(new string('T', 120), 2));
        Assert.True(layout.Cell >= BitmapFont.MeasureWidth("class", 2));
        Assert.Equal(["a", "very", "long", "class", "name"], ConfusionMatrixChart.Layout.LabelLines("a_very_long_class_name"));
    }

    [Fact]
    public void Roc_chart_is_a_png_of_the_expected_size_with_one_colour_per_curve()
    {
        ClassificationReport report = Report();
        string path = _folder.File("roc.png");

        RocChart.Save([.. Classes.Select(c => (c, report.Roc[c]))], "ROC one vs rest", path);

        using Image<Rgb24> chart = Image.Load<Rgb24>(path);
        ChartLayout layout = RocChart.Layout("ROC one vs rest");
        Assert.Equal((layout.Width, layout.Height), (chart.Width, chart.Height));
        Assert.True(CountNot(chart, new Rgb24(255, 255, 255)) > 5000);
        // The first two palette colours (blue, orange) appear as drawn lines or legend swatches.
        Assert.True(Count(chart, new Rgb24(31, 119, 180)) > 20);
        Assert.True(Count(chart, new Rgb24(255, 127, 14)) > 20);
    }

    [Fact]
    public void Roc_chart_lists_an_undefined_curve_without_drawing_it()
    {
        RocCurve undefined = RocCurve.OneVsRest([0, 0], [[0.9f, 0.1f], [0.8f, 0.2f]], 1);
        string path = _folder.File("roc-empty.png");
        RocChart.Save([("fibre", undefined)], "No fibres", path);
        using Image<Rgb24> chart = Image.Load<Rgb24>(path);
        ChartLayout layout = RocChart.Layout("No fibres");
        Assert.Equal((layout.Width, layout.Height), (chart.Width, chart.Height));
    }

    private static int Count(Image<Rgb24> image, Rgb24 colour)
    {
        int count = 0;
        for (int y = 0; y < image.Height; y++)
        for (int x = 0; x < image.Width; x++)
            if (image[x, y] == colour) count++;
        return count;
    }
}

public sealed class BitmapFontTests
{
    [Fact]
    public void Has_every_character_charts_need()
    {
        foreach (char c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.,-_%:/() ")
        {
            Assert.True(BitmapFont.HasGlyph(c), $"no glyph for '{c}'");
        }
        Assert.False(BitmapFont.HasGlyph('µ'));
    }

    [Fact]
    public void Measures_six_pixels_a_character_less_the_last_gap()
    {
        Assert.Equal(0, BitmapFont.MeasureWidth(""));
        Assert.Equal(5, BitmapFont.MeasureWidth("A"));
        Assert.Equal(3 * 6 - 1, BitmapFont.MeasureWidth("AUC"));
        Assert.Equal((3 * 6 - 1) * 2, BitmapFont.MeasureWidth("AUC", 2));
        Assert.Equal(14, BitmapFont.MeasureHeight(2));
    }

    [Fact]
    public void Draws_the_glyph_pixels()
    {
        using var image = new Image<Rgb24>(12, 9, new Rgb24(255, 255, 255));
        var ink = new Rgb24(0, 0, 0);
        BitmapFont.Draw(image, "l", 1, 1, ink); // lower case draws as the capital: an L

        for (int row = 0; row < 7; row++) Assert.Equal(ink, image[1, 1 + row]);        // the upright
        for (int column = 0; column < 5; column++) Assert.Equal(ink, image[1 + column, 7]); // the foot
        Assert.Equal(new Rgb24(255, 255, 255), image[3, 3]);
    }

    [Fact]
    public void Vertical_text_reads_bottom_to_top()
    {
        using var image = new Image<Rgb24>(9, 20, new Rgb24(255, 255, 255));
        var ink = new Rgb24(0, 0, 0);
        BitmapFont.DrawVertical(image, "L", 1, 1, ink);

        // Turned counter-clockwise, the L lies on its upright (the bottom row of its box) with its foot running up the right side.
        for (int i = 0; i < 7; i++) Assert.Equal(ink, image[1 + i, 5]);
        for (int i = 0; i < 5; i++) Assert.Equal(ink, image[7, 1 + i]);
    }
}
