using SixLabors.ImageSharp;

namespace ParticleGrid.Imaging;

/// <summary>
/// Where a chart's parts go, in pixels: the image, the plot (the ROC square, the confusion grid) and the places of the
/// title and the two axis titles. Each chart works its numbers out from what it shows; the frame around the plot
/// (title above, x-axis title below, y-axis title reading upwards on the left) is drawn alike for all of them, by
/// <see cref="ChartCanvas.DrawFrame"/>.
/// </summary>
/// <param name="TitleTop">The top of the title, centred across the image.</param>
/// <param name="XAxisTitleTop">The top of the x-axis title, centred under the plot.</param>
/// <param name="YAxisTitleLeft">The left of the y-axis title, centred beside the plot.</param>
internal sealed record ChartLayout(int Width, int Height, Rectangle Plot, int TitleTop, int XAxisTitleTop, int YAxisTitleLeft)
{
    /// <summary>The font scale of titles, axis titles and labels: the 7-pixel font doubled reads at a glance.</summary>
    public const int TextScale = 2;

    /// <summary>
    /// The image width: what the chart itself needs, or more for a title longer than that, with
    /// <paramref name="titleMargin"/> pixels to spare, so no title is ever cut.
    /// </summary>
    public static int WidthFor(int chartWidth, string title, int titleMargin) =>
        Math.Max(chartWidth, BitmapFont.MeasureWidth(title, TextScale) + titleMargin);
}
