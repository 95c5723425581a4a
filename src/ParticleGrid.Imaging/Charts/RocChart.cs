using System.Globalization;
using ParticleGrid.Domain;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Imaging;

/// <summary>
/// Draws one-vs-rest ROC curves as a PNG: false positive rate across, true positive rate up, both 0 to 1 with ticks,
/// the chance diagonal dashed, one coloured line per curve and a legend with each curve's AUC to three decimals.
/// </summary>
public static class RocChart
{
    private const int Scale = 2;
    private const int PlotSide = 440;
    private const int Left = 96;
    private const int Top = 60;
    private const int Right = 36;
    private const int Bottom = 84;

    private static readonly Rgb24[] Palette =
    [
        new(31, 119, 180), new(255, 127, 14), new(44, 160, 44), new(214, 39, 40), new(148, 103, 189),
        new(140, 86, 75), new(227, 119, 194), new(127, 127, 127), new(188, 189, 34), new(23, 190, 207),
    ];

    /// <summary>Writes the chart to <paramref name="pngPath"/> (its folder is created if needed).</summary>
    /// <param name="curves">Each curve with its legend label; a curve with no points (undefined AUC) is listed as "n/a".</param>
    public static void Save(IReadOnlyList<(string Label, RocCurve Curve)> curves, string title, string pngPath)
    {
        ArgumentNullException.ThrowIfNull(curves);
        ArgumentNullException.ThrowIfNull(title);
        (int width, int height) = Measure(title);
        using var canvas = new ChartCanvas(width, height);

        canvas.TextCentred(title, width / 2, 18, ChartCanvas.Ink, Scale);
        DrawAxes(canvas);
        canvas.DrawLine(X(0), Y(0), X(1), Y(1), ChartCanvas.Muted, 1.5, dash: 8);

        for (int i = 0; i < curves.Count; i++)
        {
            IReadOnlyList<RocPoint> points = curves[i].Curve.Points;
            for (int p = 1; p < points.Count; p++)
            {
                canvas.DrawLine(X(points[p - 1].FalsePositiveRate), Y(points[p - 1].TruePositiveRate),
                    X(points[p].FalsePositiveRate), Y(points[p].TruePositiveRate), Palette[i % Palette.Length], 2.5);
            }
        }
        DrawLegend(canvas, curves);
        canvas.Save(pngPath);
    }

    /// <summary>The image size: fixed, but wide enough for a long title.</summary>
    internal static (int Width, int Height) Measure(string title) =>
        (Math.Max(Left + PlotSide + Right, BitmapFont.MeasureWidth(title, Scale) + 40), Top + PlotSide + Bottom);

    private static double X(double rate) => Left + rate * PlotSide;

    private static double Y(double rate) => Top + (1 - rate) * PlotSide;

    private static void DrawAxes(ChartCanvas canvas)
    {
        for (int tick = 0; tick <= 5; tick++)
        {
            double rate = tick / 5.0;
            int x = (int)X(rate), y = (int)Y(rate);
            if (tick > 0 && tick < 5)
            {
                canvas.FillRectangle(x, Top, 1, PlotSide, ChartCanvas.Grid);
                canvas.FillRectangle(Left, y, PlotSide, 1, ChartCanvas.Grid);
            }
            string label = rate.ToString("0.0", CultureInfo.InvariantCulture);
            canvas.FillRectangle(x, Top + PlotSide, 1, 6, ChartCanvas.Ink);
            canvas.TextCentred(label, x, Top + PlotSide + 12, ChartCanvas.Ink, Scale);
            canvas.FillRectangle(Left - 6, y, 6, 1, ChartCanvas.Ink);
            canvas.Text(label, Left - 12 - BitmapFont.MeasureWidth(label, Scale), y - BitmapFont.MeasureHeight(Scale) / 2, ChartCanvas.Ink, Scale);
        }
        canvas.DrawRectangle(Left, Top, PlotSide + 1, PlotSide + 1, ChartCanvas.Ink);
        canvas.TextCentred("false positive rate", Left + PlotSide / 2, Top + PlotSide + 46, ChartCanvas.Ink, Scale);
        canvas.TextVerticalCentred("true positive rate", 14, Top + PlotSide / 2, ChartCanvas.Ink, Scale);
    }

    /// <summary>A boxed legend in the plot's lower right, where ROC curves rarely go.</summary>
    private static void DrawLegend(ChartCanvas canvas, IReadOnlyList<(string Label, RocCurve Curve)> curves)
    {
        if (curves.Count == 0) return;
        string[] entries = [.. curves.Select(c => double.IsNaN(c.Curve.Auc)
            ? $"{c.Label} AUC n/a"
            : string.Create(CultureInfo.InvariantCulture, $"{c.Label} AUC {c.Curve.Auc:0.000}"))];
        // Long labels fall back to the small font so the legend stays inside the plot.
        int scale = entries.Max(e => BitmapFont.MeasureWidth(e, Scale)) + 52 <= PlotSide - 16 ? Scale : 1;
        int lineHeight = BitmapFont.MeasureHeight(scale) + 8;
        int boxWidth = entries.Max(e => BitmapFont.MeasureWidth(e, scale)) + 52;
        int boxHeight = entries.Length * lineHeight + 12;
        int boxLeft = Left + PlotSide - boxWidth - 10, boxTop = Top + PlotSide - boxHeight - 10;
        canvas.FillRectangle(boxLeft, boxTop, boxWidth, boxHeight, ChartCanvas.White);
        canvas.DrawRectangle(boxLeft, boxTop, boxWidth, boxHeight, ChartCanvas.Muted);
        for (int i = 0; i < entries.Length; i++)
        {
            int y = boxTop + 8 + i * lineHeight;
            int middle = y + BitmapFont.MeasureHeight(scale) / 2;
            canvas.DrawLine(boxLeft + 10, middle, boxLeft + 36, middle, Palette[i % Palette.Length], 3);
            canvas.Text(entries[i], boxLeft + 44, y, ChartCanvas.Ink, scale);
        }
    }
}
