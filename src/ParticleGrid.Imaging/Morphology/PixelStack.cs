namespace ParticleGrid.Imaging;

/// <summary>
/// A growable stack of pixel indices for flood fills: explicit, so a particle of millions of pixels cannot overflow
/// the call stack, and reused from one fill to the next, so a fill allocates nothing per pixel.
/// A fill pushes each pixel at most once, so the stack never needs more room than the frame has pixels.
/// </summary>
internal sealed class PixelStack(int pixelCount)
{
    private int[] _items = new int[Math.Clamp(pixelCount, 1, 1024)];
    private int _count;

    public void Push(int index)
    {
        if (_count == _items.Length) Array.Resize(ref _items, (int)Math.Min((long)_items.Length * 2, Math.Max(pixelCount, _count + 1)));
        _items[_count++] = index;
    }

    public bool TryPop(out int index)
    {
        if (_count == 0)
        {
            index = -1;
            return false;
        }
        index = _items[--_count];
        return true;
    }
}
