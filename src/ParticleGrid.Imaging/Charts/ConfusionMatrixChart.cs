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
    private const int LabelScale = 2;
    private const int Padding = 16;
    private static readonly Rgb24 Full = new(31, 78, 150);

    /// <summary>Writes the chart to <paramref name="pngPath"/> (its folder is created if needed).</summary>
    public static void Save(ConfusionMatrix matrix, string title, string pngPath)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        ArgumentNullException.ThrowIfNull(title);
        Layout layout = Layout.For(matrix, title);
        using var canvas = new ChartCanvas(layout.Width, layout.Height);
        int n = matrix.Classes.Count;

        canvas.TextCentred(title, layout.Width / 2, Padding, ChartCanvas.Ink, LabelScale);

        for (int actual = 0; actual < n; actual++)
        {
            int rowTotal = Enumerable.Range(0, n).Sum(p => matrix[actual, p]);
            for (int predicted = 0; predicted < n; predicted++)
            {
                int count = matrix[actual, predicted];
                double share = rowTotal == 0 ? 0 : (double)count / rowTotal;
                int x = layout.GridLeft + predicted * layout.Cell, y = layout.GridTop + actual * layout.Cell;
                canvas.FillRectangle(x, y, layout.Cell, layout.Cell, Shade(share));
                Rgb24 ink = share > 0.5 ? ChartCanvas.White : ChartCanvas.Ink;
                string countText = count.ToString(CultureInfo.InvariantCulture);
                string shareText = rowTotal == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{share * 100:0}%");
                int middle = y + layout.Cell / 2;
                canvas.TextCentred(countText, x + layout.Cell / 2, middle - BitmapFont.MeasureHeight(LabelScale) + 2, ink, LabelScale);
                canvas.TextCentred(shareText, x + layout.Cell / 2, middle + 6, ink);
            }
        }
        for (int i = 0; i <= n; i++)
        {
            canvas.FillRectangle(layout.GridLeft + i * layout.Cell, layout.GridTop, 1, n * layout.Cell + 1, ChartCanvas.Muted);
            canvas.FillRectangle(layout.GridLeft, layout.GridTop + i * layout.Cell, n * layout.Cell + 1, 1, ChartCanvas.Muted);
        }

        int lineHeight = BitmapFont.MeasureHeight(LabelScale) + 4;
        for (int c = 0; c < n; c++)
        {
            string[] lines = Layout.LabelLines(matrix.Classes[c]);
            // Row labels, right-aligned against the grid.
            int rowTop = layout.GridTop + c * layout.Cell + (layout.Cell - lines.Length * lineHeight) / 2;
            for (int l = 0; l < lines.Length; l++)
            {
                canvas.Text(lines[l], layout.GridLeft - 10 - BitmapFont.MeasureWidth(lines[l], LabelScale), rowTop + l * lineHeight, ChartCanvas.Ink, LabelScale);
            }
            // Column labels, centred under the grid.
            for (int l = 0; l < lines.Length; l++)
            {
                canvas.TextCentred(lines[l], layout.GridLeft + c * layout.Cell + layout.Cell / 2, layout.GridBottom + 10 + l * lineHeight, ChartCanvas.Ink, LabelScale);
            }
        }

        canvas.TextCentred("predicted", layout.GridLeft + n * layout.Cell / 2, layout.Height - Padding - BitmapFont.MeasureHeight(LabelScale), ChartCanvas.Ink, LabelScale);
        canvas.TextVerticalCentred("actual", Padding, layout.GridTop + n * layout.Cell / 2, ChartCanvas.Ink, LabelScale);
        canvas.Save(pngPath);
    }

    /// <summary>White for 0 % of the row, deep blue for 100 %.</summary>
    private static Rgb24 Shade(double share)
    {
        static byte Lerp(byte from, byte to, double t) => (byte)Math.Round(from + (to - from) * t);
        return new Rgb24(Lerp(255, Full.R, share), Lerp(255, Full.G, share), Lerp(255, Full.B, share));
    }

    /// <summary>Where everything goes: sizes follow from the class names, so long names never overlap.</summary>
    internal sealed record Layout(int Width, int Height, int GridLeft, int GridTop, int Cell, int GridBottom)
    {
        public static Layout For(ConfusionMatrix matrix, string title)
        {
            int n = matrix.Classes.Count;
            string[][] labels = [.. matrix.Classes.Select(LabelLines)];
            int widestWord = labels.SelectMany(l => l).Max(line => BitmapFont.MeasureWidth(line, LabelScale));
            int mostLines = labels.Max(l => l.Length);
            int lineHeight = BitmapFont.MeasureHeight(LabelScale) + 4;
            int cell = Math.Max(84, widestWord + 16);

            int axisTitle = BitmapFont.MeasureHeight(LabelScale);
            int gridLeft = Padding + axisTitle + 14 + widestWord + 10;
            int gridTop = Padding + BitmapFont.MeasureHeight(LabelScale) + 20;
            int gridBottom = gridTop + n * cell;
            int height = gridBottom + 10 + mostLines * lineHeight + 12 + axisTitle + Padding;
            int width = Math.Max(gridLeft + n * cell + Padding + 8, BitmapFont.MeasureWidth(title, LabelScale) + 2 * Padding);
            return new Layout(width, height, gridLeft, gridTop, cell, gridBottom);
        }

        /// <summary>A class name split into words ("silicone_oil" → "silicone", "oil") so column labels fit their cells.</summary>
        public static string[] LabelLines(string name)
        {
            string[] words = name.Split([' ', '_'], StringSplitOptions.RemoveEmptyEntries);
            return words.Length == 0 ? [name] : words;
        }
    }
}
