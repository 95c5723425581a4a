namespace ParticleGrid.Imaging;

/// <summary>Plane geometry for drawing particles: polygons as corner lists, points as (X, Y) in pixels.</summary>
internal static class Geometry
{
    public static double Area((double X, double Y)[] polygon)
    {
        double twice = 0;
        for (int i = 0; i < polygon.Length; i++)
        {
            var (x0, y0) = polygon[i];
            var (x1, y1) = polygon[(i + 1) % polygon.Length];
            twice += x0 * y1 - x1 * y0;
        }
        return Math.Abs(twice) / 2;
    }

    /// <summary>Even-odd rule: does a ray from the point cross the outline an odd number of times?</summary>
    public static bool InsidePolygon((double X, double Y)[] polygon, double x, double y)
    {
        bool inside = false;
        for (int i = 0, j = polygon.Length - 1; i < polygon.Length; j = i++)
        {
            var (xi, yi) = polygon[i];
            var (xj, yj) = polygon[j];
            if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
        }
        return inside;
    }

    public static double DistanceToOutline((double X, double Y)[] polygon, double x, double y)
    {
        double best = double.MaxValue;
        for (int i = 0; i < polygon.Length; i++)
        {
            best = Math.Min(best, DistanceToSegment(polygon[i], polygon[(i + 1) % polygon.Length], x, y));
        }
        return best;
    }

    /// <summary>Whether the point lies within <paramref name="reach"/> of the segment; a cheap box test rules most points out first.</summary>
    public static bool NearSegment((double X, double Y) from, (double X, double Y) to, double x, double y, double reach)
    {
        if (x < Math.Min(from.X, to.X) - reach || x > Math.Max(from.X, to.X) + reach) return false;
        if (y < Math.Min(from.Y, to.Y) - reach || y > Math.Max(from.Y, to.Y) + reach) return false;
        return DistanceToSegment(from, to, x, y) < reach;
    }

    public static double DistanceToSegment((double X, double Y) from, (double X, double Y) to, double x, double y)
    {
        double vx = to.X - from.X, vy = to.Y - from.Y;
        double lengthSquared = vx * vx + vy * vy;
        double t = lengthSquared == 0 ? 0 : Math.Clamp(((x - from.X) * vx + (y - from.Y) * vy) / lengthSquared, 0, 1);
        double dx = x - (from.X + t * vx), dy = y - (from.Y + t * vy);
        return Math.Sqrt(dx * dx + dy * dy);
    }

    /// <summary>
    /// Which fan triangle (apex, corner i, corner i + 1) holds the point: the sector whose direction from the apex is
    /// nearest the point's direction from the apex, counting angles around the apex.
    /// </summary>
    public static int FanSector((double X, double Y)[] polygon, (double X, double Y) apex, double x, double y)
    {
        double angle = Math.Atan2(y - apex.Y, x - apex.X);
        for (int i = 0; i < polygon.Length; i++)
        {
            double start = Math.Atan2(polygon[i].Y - apex.Y, polygon[i].X - apex.X);
            double end = Math.Atan2(polygon[(i + 1) % polygon.Length].Y - apex.Y, polygon[(i + 1) % polygon.Length].X - apex.X);
            double span = Wrap(end - start), offset = Wrap(angle - start);
            if (offset <= span) return i;
        }
        return 0;
    }

    /// <summary>The point a share <paramref name="t"/> of the way from <paramref name="a"/> to <paramref name="b"/>.</summary>
    public static (double X, double Y) Along((double X, double Y) a, (double X, double Y) b, double t) =>
        (a.X + (b.X - a.X) * t, a.Y + (b.Y - a.Y) * t);

    /// <summary>A point on the quadratic Bezier curve from <paramref name="start"/> to <paramref name="end"/>.</summary>
    public static (double X, double Y) Bezier((double X, double Y) start, (double X, double Y) control, (double X, double Y) end, double t)
    {
        double u = 1 - t;
        return (u * u * start.X + 2 * u * t * control.X + t * t * end.X, u * u * start.Y + 2 * u * t * control.Y + t * t * end.Y);
    }

    /// <summary>An angle brought into [0, 2 pi).</summary>
    private static double Wrap(double angle)
    {
        double turn = 2 * Math.PI;
        angle %= turn;
        return angle < 0 ? angle + turn : angle;
    }
}
