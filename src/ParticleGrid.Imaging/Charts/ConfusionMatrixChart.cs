using System.Globalization;
using ParticleGrid.Domain;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Imaging;

/// <summary>
/// Draws a confusion matrix as a PNG: one row per actual class, one column per predicted class, each cell shaded by
/// its share of the row (so the diagonal reads as per-class recall) and labelled with its count and that share.
/// </summary>
public static class ConfusionMatrixChart
{
    /// <summary>The white space around the chart, and the title's distance from the top.</summary>
    private const int Padding = 16;
    private static readonly Rgb24 Full = new(31, 78, 150);

    /// <summary>Writes the chart to <paramref name="pngPath"/> (its folder is created if needed).</summary>
    public static void Save(ConfusionMatrix matrix, string title, string pngPath)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        ArgumentNullException.ThrowIfNull(title);
        Layout layout = Layout.For(matrix, title);
        Rectangle grid = layout.Chart.Plot;
        using var canvas = new ChartCanvas(layout.Chart.Width, layout.Chart.Height);
        int n = matrix.Classes.Count;

        canvas.DrawFrame(layout.Chart, title, "predicted", "actual");

        for (int actual = 0; actual < n; actual++)
        {
            int rowTotal = Enumerable.Range(0, n).Sum(p => matrix[actual, p]);
            for (int predicted = 0; predicted < n; predicted++)
            {
                int count = matrix[actual, predicted];
                double share = rowTotal == 0 ? 0 : (double)count / rowTotal;
                int x = grid.Left + predicted * layout.Cell, y = grid.Top + actual * layout.Cell;
                canvas.FillRectangle(x, y, layout.Cell, layout.Cell, Shade(share));
                Rgb24 ink = share > 0.5 ? ChartCanvas.White : ChartCanvas.Ink;
                string countText = count.ToString(CultureInfo.InvariantCulture);
                string shareText = rowTotal == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{share * 100:0}%");
                int middle = y + layout.Cell / 2;
                canvas.TextCentred(countText, x + layout.Cell / 2, middle - BitmapFont.MeasureHeight(ChartLayout.TextScale) + 2, ink, ChartLayout.TextScale);
                canvas.TextCentred(shareText, x + layout.Cell / 2, middle + 6, ink);
            }
        }
        for (int i = 0; i <= n; i++)
        {
            canvas.FillRectangle(grid.Left + i * layout.Cell, grid.Top, 1, grid.Height + 1, ChartCanvas.Muted);
            canvas.FillRectangle(grid.Left, grid.Top + i * layout.Cell, grid.Width + 1, 1, ChartCanvas.Muted);
        }

        int lineHeight = BitmapFont.MeasureHeight(ChartLayout.TextScale) + 4;
        for (int c = 0; c < n; c++)
        {
            string[] lines = Layout.LabelLines(matrix.Classes[c]);
            // Row labels, right-aligned against the grid.
            int rowTop = grid.Top + c * layout.Cell + (layout.Cell - lines.Length * lineHeight) / 2;
            for (int l = 0; l < lines.Length; l++)
            {
                canvas.Text(lines[l], grid.Left - 10 - BitmapFont.MeasureWidth(lines[l], ChartLayout.TextScale), rowTop + l * lineHeight, ChartCanvas.Ink, ChartLayout.TextScale);
            }
            // Column labels, centred under the grid.
            for (int l = 0; l < lines.Length; l++)
            {
                canvas.TextCentred(lines[l], grid.Left + c * layout.Cell + layout.Cell / 2, grid.Bottom + 10 + l * lineHeight, ChartCanvas.Ink, ChartLayout.TextScale);
            }
        }
        canvas.Save(pngPath);
    }

    /// <summary>White for 0 % of the row, deep blue for 100 %.</summary>
    private static Rgb24 Shade(double share)
    {
        static byte Lerp(byte from, byte to, double t) => (byte)Math.Round(from + (to - from) * t);
        return new Rgb24(Lerp(255, Full.R, share), Lerp(255, Full.G, share), Lerp(255, Full.B, share));
    }

    /// <summary>
    /// Where everything goes: the grid is the chart's plot, <see cref="Cell"/> pixels a class each way. Sizes follow from
    /// the class names, so long names never overlap.
    /// </summary>
    internal sealed record Layout(ChartLayout Chart, int Cell)
    {
        public static Layout For(ConfusionMatrix matrix, string title)
        {
            int n = matrix.Classes.Count;
            string[][] labels = [.. matrix.Classes.Select(LabelLines)];
            int widestWord = labels.SelectMany(l => l).Max(line => BitmapFont.MeasureWidth(line, ChartLayout.TextScale));
            int mostLines = labels.Max(l => l.Length);
            int lineHeight = BitmapFont.MeasureHeight(ChartLayout.TextScale) + 4;
            int cell = Math.Max(84, widestWord + 16);

            int axisTitle = BitmapFont.MeasureHeight(ChartLayout.TextScale);
            int gridLeft = Padding + axisTitle + 14 + widestWord + 10;
            int gridTop = Padding + BitmapFont.MeasureHeight(ChartLayout.TextScale) + 20;
            var grid = new Rectangle(gridLeft, gridTop, n * cell, n * cell);
            // Under the grid: the column labels, then the x-axis title with the padding below it.
            int xAxisTitleTop = grid.Bottom + 10 + mostLines * lineHeight + 12;
            int width = ChartLayout.WidthFor(grid.Right + Padding + 8, title, titleMargin: 2 * Padding);
            var chart = new ChartLayout(width, xAxisTitleTop + axisTitle + Padding, grid,
                TitleTop: Padding, XAxisTitleTop: xAxisTitleTop, YAxisTitleLeft: Padding);
            return new Layout(chart, cell);
        }

        /// <summary>A class name split into words ("silicone_oil" → "silicone", "oil") so column labels fit their cells.</summary>
        public static string[] LabelLines(string name)
        {
            string[] words = name.Split([' ', '_'], StringSplitOptions.RemoveEmptyEntries);
            return words.Length == 0 ? [name] : words;
        }
    }
}
