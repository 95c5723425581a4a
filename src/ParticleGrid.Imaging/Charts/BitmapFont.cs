using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ParticleGrid.Imaging;

/// <summary>
/// A tiny built-in 5 x 7 pixel font for chart labels, so charts need no font package. It has capital letters
/// (lower case is drawn as capitals), digits, space and . , - _ % : / ( ) ? + = ' \ | &lt; &gt;; any other character
/// is drawn as '?'. Text can be drawn at any whole-number scale, left to right or turned to read bottom to top.
/// </summary>
public static class BitmapFont
{
    public const int GlyphWidth = 5;
    public const int GlyphHeight = 7;

    /// <summary>The horizontal step from one character to the next: the glyph and one pixel of spacing.</summary>
    public const int Advance = GlyphWidth + 1;

    /// <summary>Each glyph as seven rows, top first; in each row bit 4 is the leftmost pixel.</summary>
    private static readonly Dictionary<char, byte[]> Glyphs = new()
    {
        ['A'] = [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
        ['B'] = [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110],
        ['C'] = [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110],
        ['D'] = [0b11110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11110],
        ['E'] = [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111],
        ['F'] = [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000],
        ['G'] = [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111],
        ['H'] = [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
        ['I'] = [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
        ['J'] = [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100],
        ['K'] = [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001],
        ['L'] = [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111],
        ['M'] = [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001],
        ['N'] = [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001],
        ['O'] = [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
        ['P'] = [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000],
        ['Q'] = [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101],
        ['R'] = [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001],
        ['S'] = [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110],
        ['T'] = [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100],
        ['U'] = [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
        ['V'] = [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100],
        ['W'] = [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010],
        ['X'] = [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001],
        ['Y'] = [0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100, 0b00100],
        ['Z'] = [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111],
        ['0'] = [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],
        ['1'] = [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
        ['2'] = [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
        ['3'] = [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],
        ['4'] = [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
        ['5'] = [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],
        ['6'] = [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],
        ['7'] = [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
        ['8'] = [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],
        ['9'] = [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],
        ['.'] = [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b01100],
        [','] = [0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b00100, 0b01000],
        ['-'] = [0b00000, 0b00000, 0b00000, 0b11111, 0b00000, 0b00000, 0b00000],
        ['_'] = [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b11111],
        ['%'] = [0b11000, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b00011],
        [':'] = [0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b01100, 0b00000],
        ['/'] = [0b00000, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b00000],
        ['('] = [0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010],
        [')'] = [0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000],
        [' '] = [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000],
        ['?'] = [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b00000, 0b00100],
        ['+'] = [0b00000, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0b00000],
        ['='] = [0b00000, 0b00000, 0b11111, 0b00000, 0b11111, 0b00000, 0b00000],
        ['\''] = [0b00100, 0b00100, 0b01000, 0b00000, 0b00000, 0b00000, 0b00000],
        ['\\'] = [0b00000, 0b10000, 0b01000, 0b00100, 0b00010, 0b00001, 0b00000],
        ['|'] = [0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100],
        ['<'] = [0b00010, 0b00100, 0b01000, 0b10000, 0b01000, 0b00100, 0b00010],
        ['>'] = [0b01000, 0b00100, 0b00010, 0b00001, 0b00010, 0b00100, 0b01000],
    };

    /// <summary>Whether <paramref name="c"/> has its own glyph (lower case counts, as its capital).</summary>
    public static bool HasGlyph(char c) => Glyphs.ContainsKey(char.ToUpperInvariant(c));

    /// <summary>The width in pixels of <paramref name="text"/> drawn at <paramref name="scale"/> (no trailing spacing).</summary>
    public static int MeasureWidth(string text, int scale = 1) =>
        string.IsNullOrEmpty(text) ? 0 : (text.Length * Advance - 1) * scale;

    /// <summary>The height in pixels of one line drawn at <paramref name="scale"/>.</summary>
    public static int MeasureHeight(int scale = 1) => GlyphHeight * scale;

    /// <summary>Draws <paramref name="text"/> with its top-left corner at (x, y); pixels outside the image are skipped.</summary>
    public static void Draw(Image<Rgb24> image, string text, int x, int y, Rgb24 colour, int scale = 1) =>
        Render(image, text, scale, colour, (column, row) => (x + column, y + row));

    /// <summary>
    /// Draws <paramref name="text"/> turned a quarter counter-clockwise, reading bottom to top (as a y-axis title);
    /// (x, y) is the top-left corner of the turned text, whose box is <see cref="MeasureHeight"/> wide.
    /// </summary>
    public static void DrawVertical(Image<Rgb24> image, string text, int x, int y, Rgb24 colour, int scale = 1)
    {
        int length = MeasureWidth(text, scale);
        Render(image, text, scale, colour, (column, row) => (x + row, y + length - 1 - column));
    }

    private static void Render(Image<Rgb24> image, string text, int scale, Rgb24 colour, Func<int, int, (int X, int Y)> place)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        for (int i = 0; i < text.Length; i++)
        {
            byte[] rows = Glyphs.TryGetValue(char.ToUpperInvariant(text[i]), out byte[]? glyph) ? glyph : Glyphs['?'];
            for (int row = 0; row < GlyphHeight; row++)
            for (int column = 0; column < GlyphWidth; column++)
            {
                if ((rows[row] & (1 << (GlyphWidth - 1 - column))) == 0) continue;
                for (int dy = 0; dy < scale; dy++)
                for (int dx = 0; dx < scale; dx++)
                {
                    (int px, int py) = place((i * Advance + column) * scale + dx, row * scale + dy);
                    if (px >= 0 && py >= 0 && px < image.Width && py < image.Height) image[px, py] = colour;
                }
            }
        }
    }
}
