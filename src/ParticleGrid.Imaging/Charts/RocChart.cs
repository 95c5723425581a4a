using System.Globalization;
using ParticleGrid.Domain;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Imaging;

/// <summary>
/// Draws lines on the unit square as a PNG: both axes 0 to 1 with ticks, the diagonal dashed, one coloured line per
/// series and a legend. ROC curves (the diagonal is chance) and reliability diagrams (the diagonal is perfect
/// calibration) are both drawn this way.
/// </summary>
public static class RocChart
{
    /// <summary>The unit square's side in pixels: a tick every 88.</summary>
    private const int PlotSide = 440;

    /// <summary>
    /// The unit square, in the same place whatever the title: 96 pixels to its left for the tick labels and the y-axis title, 60
    /// above it for the title (84 below it for the tick labels and the x-axis title, see <see cref="Layout"/>).
    /// </summary>
    private static readonly Rectangle Plot = new(96, 60, PlotSide, PlotSide);

    private static readonly Rgb24[] Palette =
    [
        new(31, 119, 180), new(255, 127, 14), new(44, 160, 44), new(214, 39, 40), new(148, 103, 189),
        new(140, 86, 75), new(227, 119, 194), new(127, 127, 127), new(188, 189, 34), new(23, 190, 207),
    ];

    /// <summary>Writes one-vs-rest ROC curves to <paramref name="pngPath"/> (its folder is created if needed), each with its AUC in the legend.</summary>
    /// <param name="curves">Each curve with its legend label; a curve with no points (undefined AUC) is listed as "n/a".</param>
    public static void Save(IReadOnlyList<(string Label, RocCurve Curve)> curves, string title, string pngPath)
    {
        ArgumentNullException.ThrowIfNull(curves);
        SaveLines([.. curves.Select(c => (double.IsNaN(c.Curve.Auc)
                ? $"{c.Label} AUC n/a"
                : string.Create(CultureInfo.InvariantCulture, $"{c.Label} AUC {c.Curve.Auc:0.000}"),
            (IReadOnlyList<(double X, double Y)>)[.. c.Curve.Points.Select(p => (p.FalsePositiveRate, p.TruePositiveRate))]))],
            title, "false positive rate", "true positive rate", pngPath);
    }

    /// <summary>Writes lines on the unit square: each series' points joined in order, its label in the legend.</summary>
    public static void SaveLines(IReadOnlyList<(string Label, IReadOnlyList<(double X, double Y)> Points)> lines, string title,
        string xAxis, string yAxis, string pngPath, bool markPoints = false)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(title);
        ChartLayout layout = Layout(title);
        using var canvas = new ChartCanvas(layout.Width, layout.Height);

        canvas.DrawFrame(layout, title, xAxis, yAxis);
        DrawAxes(canvas);
        canvas.DrawLine(X(0), Y(0), X(1), Y(1), ChartCanvas.Muted, 1.5, dash: 8);

        for (int i = 0; i < lines.Count; i++)
        {
            var points = lines[i].Points;
            for (int p = 1; p < points.Count; p++)
                canvas.DrawLine(X(points[p - 1].X), Y(points[p - 1].Y), X(points[p].X), Y(points[p].Y), Palette[i % Palette.Length], 2.5);
            if (markPoints)
                foreach (var point in points) canvas.FillRectangle((int)X(point.X) - 2, (int)Y(point.Y) - 2, 5, 5, Palette[i % Palette.Length]);
        }
        DrawLegend(canvas, [.. lines.Select(l => l.Label)]);
        canvas.Save(pngPath);
    }

    /// <summary>The layout: fixed (36 pixels to the plot's right), but wide enough for a long title.</summary>
    internal static ChartLayout Layout(string title) =>
        new(ChartLayout.WidthFor(Plot.Right + 36, title, titleMargin: 40), Plot.Bottom + 84, Plot,
            TitleTop: 18, XAxisTitleTop: Plot.Bottom + 46, YAxisTitleLeft: 14);

    private static double X(double rate) => Plot.Left + rate * PlotSide;

    private static double Y(double rate) => Plot.Top + (1 - rate) * PlotSide;

    private static void DrawAxes(ChartCanvas canvas)
    {
        for (int tick = 0; tick <= 5; tick++)
        {
            double rate = tick / 5.0;
            int x = (int)X(rate), y = (int)Y(rate);
            if (tick > 0 && tick < 5)
            {
                canvas.FillRectangle(x, Plot.Top, 1, PlotSide, ChartCanvas.Grid);
                canvas.FillRectangle(Plot.Left, y, PlotSide, 1, ChartCanvas.Grid);
            }
            string label = rate.ToString("0.0", CultureInfo.InvariantCulture);
            canvas.FillRectangle(x, Plot.Bottom, 1, 6, ChartCanvas.Ink);
            canvas.TextCentred(label, x, Plot.Bottom + 12, ChartCanvas.Ink, ChartLayout.TextScale);
            canvas.FillRectangle(Plot.Left - 6, y, 6, 1, ChartCanvas.Ink);
            canvas.Text(label, Plot.Left - 12 - BitmapFont.MeasureWidth(label, ChartLayout.TextScale), y - BitmapFont.MeasureHeight(ChartLayout.TextScale) / 2, ChartCanvas.Ink, ChartLayout.TextScale);
        }
        canvas.DrawRectangle(Plot.Left, Plot.Top, PlotSide + 1, PlotSide + 1, ChartCanvas.Ink);
    }

    /// <summary>A boxed legend in the plot's lower right, where ROC curves (and calibrated networks) rarely go.</summary>
    private static void DrawLegend(ChartCanvas canvas, IReadOnlyList<string> entries)
    {
        if (entries.Count == 0) return;
        // Long labels fall back to the small font so the legend stays inside the plot.
        int scale = entries.Max(e => BitmapFont.MeasureWidth(e, ChartLayout.TextScale)) + 52 <= PlotSide - 16 ? ChartLayout.TextScale : 1;
        int lineHeight = BitmapFont.MeasureHeight(scale) + 8;
        int boxWidth = entries.Max(e => BitmapFont.MeasureWidth(e, scale)) + 52;
        int boxHeight = entries.Count * lineHeight + 12;
        int boxLeft = Plot.Right - boxWidth - 10, boxTop = Plot.Bottom - boxHeight - 10;
        canvas.FillRectangle(boxLeft, boxTop, boxWidth, boxHeight, ChartCanvas.White);
        canvas.DrawRectangle(boxLeft, boxTop, boxWidth, boxHeight, ChartCanvas.Muted);
        for (int i = 0; i < entries.Count; i++)
        {
            int y = boxTop + 8 + i * lineHeight;
            int middle = y + BitmapFont.MeasureHeight(scale) / 2;
            canvas.DrawLine(boxLeft + 10, middle, boxLeft + 36, middle, Palette[i % Palette.Length], 3);
            canvas.Text(entries[i], boxLeft + 44, y, ChartCanvas.Ink, scale);
        }
    }
}
