using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Imaging;

/// <summary>The few raster operations the charts need: rectangles, anti-aliased lines and bitmap-font text.</summary>
internal sealed class ChartCanvas : IDisposable
{
    public static readonly Rgb24 White = new(255, 255, 255);
    public static readonly Rgb24 Ink = new(34, 34, 34);
    public static readonly Rgb24 Grid = new(225, 225, 225);
    public static readonly Rgb24 Muted = new(140, 140, 140);

    public ChartCanvas(int width, int height) => Image = new Image<Rgb24>(width, height, White);

    public Image<Rgb24> Image { get; }

    public void FillRectangle(int x, int y, int width, int height, Rgb24 colour)
    {
        for (int py = Math.Max(0, y); py < Math.Min(Image.Height, y + height); py++)
        for (int px = Math.Max(0, x); px < Math.Min(Image.Width, x + width); px++)
            Image[px, py] = colour;
    }

    public void DrawRectangle(int x, int y, int width, int height, Rgb24 colour)
    {
        FillRectangle(x, y, width, 1, colour);
        FillRectangle(x, y + height - 1, width, 1, colour);
        FillRectangle(x, y, 1, height, colour);
        FillRectangle(x + width - 1, y, 1, height, colour);
    }

    /// <summary>
    /// A line of <paramref name="thickness"/> pixels between two points; each pixel is blended by how much of it
    /// the line covers. With <paramref name="dash"/> &gt; 0 the line is drawn in dashes of that length.
    /// </summary>
    public void DrawLine(double x0, double y0, double x1, double y1, Rgb24 colour, double thickness = 1, double dash = 0)
    {
        double half = thickness / 2;
        double length = Math.Sqrt((x1 - x0) * (x1 - x0) + (y1 - y0) * (y1 - y0));
        int left = (int)Math.Floor(Math.Min(x0, x1) - half - 1), right = (int)Math.Ceiling(Math.Max(x0, x1) + half + 1);
        int top = (int)Math.Floor(Math.Min(y0, y1) - half - 1), bottom = (int)Math.Ceiling(Math.Max(y0, y1) + half + 1);
        for (int py = Math.Max(0, top); py <= Math.Min(Image.Height - 1, bottom); py++)
        for (int px = Math.Max(0, left); px <= Math.Min(Image.Width - 1, right); px++)
        {
            // Distance from the pixel centre to the segment, and how far along it the nearest point is.
            double cx = px + 0.5, cy = py + 0.5;
            double t = length == 0 ? 0 : Math.Clamp(((cx - x0) * (x1 - x0) + (cy - y0) * (y1 - y0)) / (length * length), 0, 1);
            if (dash > 0 && (int)(t * length / dash) % 2 == 1) continue;
            double dx = cx - (x0 + t * (x1 - x0)), dy = cy - (y0 + t * (y1 - y0));
            double coverage = Math.Clamp(half + 0.5 - Math.Sqrt(dx * dx + dy * dy), 0, 1);
            if (coverage > 0) Blend(px, py, colour, coverage);
        }
    }

    /// <summary>The title above the plot and the axis titles below and beside it, where <paramref name="layout"/> puts them.</summary>
    public void DrawFrame(ChartLayout layout, string title, string xAxis, string yAxis)
    {
        TextCentred(title, layout.Width / 2, layout.TitleTop, Ink, ChartLayout.TextScale);
        TextCentred(xAxis, layout.Plot.Left + layout.Plot.Width / 2, layout.XAxisTitleTop, Ink, ChartLayout.TextScale);
        TextVerticalCentred(yAxis, layout.YAxisTitleLeft, layout.Plot.Top + layout.Plot.Height / 2, Ink, ChartLayout.TextScale);
    }

    public void Text(string text, int x, int y, Rgb24 colour, int scale = 1) => BitmapFont.Draw(Image, text, x, y, colour, scale);

    /// <summary>Text centred horizontally on <paramref name="centreX"/>.</summary>
    public void TextCentred(string text, int centreX, int y, Rgb24 colour, int scale = 1) =>
        Text(text, centreX - BitmapFont.MeasureWidth(text, scale) / 2, y, colour, scale);

    /// <summary>Text reading bottom to top, centred vertically on <paramref name="centreY"/>.</summary>
    public void TextVerticalCentred(string text, int x, int centreY, Rgb24 colour, int scale = 1) =>
        BitmapFont.DrawVertical(Image, text, x, centreY - BitmapFont.MeasureWidth(text, scale) / 2, colour, scale);

    public void Save(string pngPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(pngPath));
        if (folder is not null) Directory.CreateDirectory(folder);
        Image.SaveAsPng(pngPath);
    }

    public void Dispose() => Image.Dispose();

    private void Blend(int x, int y, Rgb24 colour, double alpha)
    {
        Rgb24 under = Image[x, y];
        Image[x, y] = new Rgb24(Mix(under.R, colour.R, alpha), Mix(under.G, colour.G, alpha), Mix(under.B, colour.B, alpha));
    }

    private static byte Mix(byte under, byte over, double alpha) => (byte)Math.Round(under + (over - under) * alpha);
}
