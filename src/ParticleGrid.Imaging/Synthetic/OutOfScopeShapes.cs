namespace ParticleGrid.Imaging;

/// <summary>
/// How the out-of-scope kinds are drawn (DOMAIN.md, "What the four classes do not cover"): what a site's instrument
/// images besides the four types, for testing the "unknown" answer. Like <see cref="ParticleShapes"/>: transmission
/// below 1 darker than the background, above 1 brighter; positions, orientations and contrasts vary at random.
/// </summary>
internal static class OutOfScopeShapes
{
    /// <summary>
    /// Fibre (cellulose, polymer): a long thin strand, gently curved or kinked, sometimes frayed at an end or with a
    /// side branch; either dark and sharp-edged or translucent with a thin dark outline. Curvature, kinks and branches
    /// are bounded so that the strand's inertia ellipse stays at least 5 : 1 (DOMAIN.md: aspect ratio often > 5).
    /// </summary>
    public static void Fibre(ParticleCanvas canvas, Random random, double lengthPixels, double widthPixels)
    {
        // The centre line as a chain of short pieces, heading at a gently turning angle, with at most one kink.
        const int Pieces = 28;
        double heading = random.NextDouble() * 2 * Math.PI;
        double turnPerPiece = (random.NextDouble() * 2 - 1) * 0.5 / Pieces; // up to 0.5 rad of bend over the whole length
        bool kinked = random.NextDouble() < 0.35;
        int kinkAt = Pieces / 4 + random.Next(Pieces / 2);
        double kink = (random.NextDouble() < 0.5 ? -1 : 1) * (0.15 + random.NextDouble() * 0.2);
        double step = lengthPixels / Pieces;
        var line = new (double X, double Y)[Pieces + 1];
        for (int i = 1; i <= Pieces; i++)
        {
            heading += turnPerPiece + (random.NextDouble() - 0.5) * 0.08 + (kinked && i == kinkAt ? kink : 0);
            line[i] = (line[i - 1].X + Math.Cos(heading) * step, line[i - 1].Y + Math.Sin(heading) * step);
        }

        var strands = new List<((double X, double Y) From, (double X, double Y) To, double HalfWidth)>();
        for (int i = 0; i < Pieces; i++)
        {
            double swell = 1 + 0.15 * Math.Sin(i * 0.9 + heading); // the strand thickens and thins along its length
            strands.Add((line[i], line[i + 1], widthPixels / 2 * swell));
        }

        if (random.NextDouble() < 0.3)
        {
            // Frayed: a few thinner fibrils splay from one end.
            bool atStart = random.NextDouble() < 0.5;
            (double X, double Y) end = atStart ? line[0] : line[Pieces];
            (double X, double Y) inner = atStart ? line[1] : line[Pieces - 1];
            double outward = Math.Atan2(end.Y - inner.Y, end.X - inner.X);
            int fibrils = 2 + random.Next(3);
            for (int f = 0; f < fibrils; f++)
            {
                double angle = outward + (random.NextDouble() * 2 - 1) * 0.35;
                double length = lengthPixels * (0.06 + random.NextDouble() * 0.1);
                strands.Add((end, (end.X + Math.Cos(angle) * length, end.Y + Math.Sin(angle) * length), Math.Max(0.45, widthPixels * 0.22)));
            }
        }
        else if (random.NextDouble() < 0.2)
        {
            // Branching: one short side strand from the middle part.
            int from = Pieces / 3 + random.Next(Pieces / 3);
            double along = Math.Atan2(line[from + 1].Y - line[from].Y, line[from + 1].X - line[from].X);
            double angle = along + (random.NextDouble() < 0.5 ? -1 : 1) * (0.35 + random.NextDouble() * 0.35);
            double length = lengthPixels * (0.12 + random.NextDouble() * 0.1);
            strands.Add((line[from], (line[from].X + Math.Cos(angle) * length, line[from].Y + Math.Sin(angle) * length), widthPixels * 0.3));
        }

        // Centre the strand's box in the frame, jittered where there is room.
        double minX = strands.Min(s => Math.Min(s.From.X, s.To.X)), maxX = strands.Max(s => Math.Max(s.From.X, s.To.X));
        double minY = strands.Min(s => Math.Min(s.From.Y, s.To.Y)), maxY = strands.Max(s => Math.Max(s.From.Y, s.To.Y));
        (double cx, double cy) = ParticleShapes.Place(canvas, random, Math.Max(maxX - minX, maxY - minY) / 2 + widthPixels);
        double offsetX = cx - (minX + maxX) / 2, offsetY = cy - (minY + maxY) / 2;
        strands = [.. strands.Select(s => ((s.From.X + offsetX, s.From.Y + offsetY), (s.To.X + offsetX, s.To.Y + offsetY), s.HalfWidth))];

        // A translucent strand needs room for an outline on both sides of a lighter body.
        bool translucent = widthPixels >= 2.4 && random.NextDouble() < 0.45;
        double level = 0.12 + random.NextDouble() * 0.28;
        double body = 0.78 + random.NextDouble() * 0.12, outline = 0.3 + random.NextDouble() * 0.2;
        double reach = widthPixels + 1;
        canvas.Paint(minX + offsetX - reach, minY + offsetY - reach, maxX + offsetX + reach, maxY + offsetY + reach, (x, y) =>
        {
            double inside = double.MinValue; // how far inside the nearest strand's edge the point lies
            foreach (var (from, to, halfWidth) in strands)
            {
                if (!Geometry.NearSegment(from, to, x, y, halfWidth)) continue;
                inside = Math.Max(inside, halfWidth - Geometry.DistanceToSegment(from, to, x, y));
            }
            if (inside <= 0) return null;
            return translucent && inside > 0.7 ? body : translucent ? outline : level;
        });
    }

    /// <summary>
    /// Schlieren: not a particle but a refractive-index streak where liquids of different density mix; faint wisps
    /// both lighter and darker than the background (the liquid bends light both ways), with no sharp edge, elongated
    /// along the flow (the frame's vertical axis, give or take 15 degrees).
    /// </summary>
    /// <returns>The streak's extent in pixels, as an equivalent circular diameter (a streak has no outline; this is for the record).</returns>
    public static double Schlieren(ParticleCanvas canvas, Random random)
    {
        int size = canvas.Size;
        double along = Math.PI / 2 + (random.NextDouble() * 2 - 1) * Math.PI / 12;
        double ux = Math.Cos(along), uy = Math.Sin(along);
        double lengthSigma = size * (0.22 + random.NextDouble() * 0.12), widthSigma = size * (0.05 + random.NextDouble() * 0.04);
        double amplitude = 0.06 + random.NextDouble() * 0.04;       // at most 10 % either way: faint
        double wavelength = size * (0.1 + random.NextDouble() * 0.06); // striations across the flow, several pixels apart
        double phase = random.NextDouble() * 2 * Math.PI;
        var warp = new ValueNoise(random.Next(), lengthSigma / 2);
        var wisps = new ValueNoise(random.Next(), widthSigma);
        (double cx, double cy) = ParticleShapes.Place(canvas, random, widthSigma * 2);
        canvas.Paint(0, 0, size, size, (x, y) =>
        {
            double dx = x - cx, dy = y - cy;
            double u = dx * ux + dy * uy, v = -dx * uy + dy * ux; // along and across the flow
            double envelope = Math.Exp(-(u * u) / (2 * lengthSigma * lengthSigma) - (v * v) / (2 * widthSigma * widthSigma));
            if (envelope < 0.01) return null;
            // The striations wander sideways along the streak and break into wisps.
            double bent = v + widthSigma * 0.8 * warp.At(u, 0);
            double striation = 0.75 * Math.Sin(2 * Math.PI * bent / wavelength + phase) + 0.25 * wisps.Fractal(u * 0.4, v);
            return 1 + amplitude * envelope * striation;
        });
        // Its size, for the record: the diameter of a circle of the two-sigma ellipse's area.
        return 2 * Math.Sqrt(2 * lengthSigma * 2 * widthSigma);
    }

    /// <summary>
    /// Irregular opaque debris: a flake of stainless steel (nearly black, jagged with notches and points) or rubber
    /// (dark grey, lumpy and rounded, matte). Unlike glass, no bright facets and no translucent body: light does not
    /// pass through, so the whole outline is filled dark.
    /// </summary>
    public static void Debris(ParticleCanvas canvas, Random random, double radius)
    {
        bool steel = random.NextDouble() < 0.5;
        int corners = steel ? 9 + random.Next(8) : 14 + random.Next(6);
        double turn = random.NextDouble() * 2 * Math.PI;
        var ragged = new ValueNoise(random.Next(), Math.Max(1.0, radius / (steel ? 6 : 3)));
        var outline = new (double X, double Y)[corners];
        for (int i = 0; i < corners; i++)
        {
            double angle = turn + 2 * Math.PI * i / corners + (random.NextDouble() - 0.5) * 0.4;
            // Steel tears into notches and points (radii vary a lot from corner to corner); rubber varies smoothly.
            double r = steel ? 0.55 + random.NextDouble() * 0.7 : 0.8 + 0.3 * Math.Sin(angle * (2 + random.Next(2)) + turn) + random.NextDouble() * 0.15;
            outline[i] = (Math.Cos(angle) * r, Math.Sin(angle) * r * (0.6 + 0.4 * Math.Abs(Math.Cos(turn))));
        }
        double scale = Math.Sqrt(Math.PI * radius * radius / Geometry.Area(outline));
        double reach = outline.Max(p => Math.Sqrt(p.X * p.X + p.Y * p.Y)) * scale;
        (double cx, double cy) = ParticleShapes.Place(canvas, random, reach * 1.15 + 1);
        outline = [.. outline.Select(p => (cx + p.X * scale, cy + p.Y * scale))];

        double level = steel ? 0.03 + random.NextDouble() * 0.09 : 0.12 + random.NextDouble() * 0.16;
        var grain = new ValueNoise(random.Next(), Math.Max(1.0, radius / 4));
        canvas.PaintAround(cx, cy, reach * 1.2 + 2, (dx, dy) =>
        {
            // The outline is roughened at a finer scale than its corners: torn metal, crumbled rubber.
            double roughness = (steel ? 0.9 : 0.6) * ragged.Fractal(dx, dy);
            double x = cx + dx, y = cy + dy;
            bool inside = Geometry.InsidePolygon(outline, x, y);
            double edge = Geometry.DistanceToOutline(outline, x, y);
            if (!(inside ? edge > -roughness : edge < roughness)) return null;
            return Math.Max(0.01, level + 0.04 * grain.At(dx, dy));
        });
    }

    /// <summary>
    /// Agglomerate: several silicone-oil droplets stuck together, a protein clump with droplets on it, or a cluster of
    /// small mixed particles (dark angular specks, droplets, faint protein bits) touching each other.
    /// </summary>
    public static void Agglomerate(ParticleCanvas canvas, Random random, double radius)
    {
        double style = random.NextDouble();
        if (style < 0.4) DropletCluster(canvas, random, radius);
        else if (style < 0.7) ProteinWithOil(canvas, random, radius);
        else SmallParticleCluster(canvas, random, radius);
    }

    private static void DropletCluster(ParticleCanvas canvas, Random random, double radius)
    {
        int count = 3 + random.Next(5);
        double each = Math.Max(3.2, radius / Math.Sqrt(count) * 1.1);
        var members = Cluster(random, count, () => each * (0.75 + random.NextDouble() * 0.4), overlap: 0.97);
        (double cx, double cy) = PlaceCluster(canvas, random, members);
        bool inverted = random.NextDouble() < 0.2;
        foreach (var (x, y, r) in members) ParticleShapes.Droplet(canvas, random, cx + x, cy + y, r, inverted);
    }

    private static void ProteinWithOil(ParticleCanvas canvas, Random random, double radius)
    {
        // A translucent, mottled clump (as protein looks) with two to four droplets stuck on its rim.
        double clump = radius * 0.75;
        double contrast = 0.18 + random.NextDouble() * 0.18;
        var texture = new ValueNoise(random.Next(), Math.Max(1.0, clump / 3));
        var ragged = new ValueNoise(random.Next(), Math.Max(1.2, clump / 4));
        int droplets = 2 + random.Next(3);
        double dropletRadius = Math.Max(3.5, clump * (0.45 + random.NextDouble() * 0.15));
        var members = new List<(double X, double Y, double R)>();
        double turn = random.NextDouble() * 2 * Math.PI;
        for (int i = 0; i < droplets; i++)
        {
            double angle = turn + 2 * Math.PI * i / droplets + (random.NextDouble() - 0.5) * 0.8;
            double distance = clump + dropletRadius * 0.9; // stuck on, by a neck narrower than the droplet
            members.Add((Math.Cos(angle) * distance, Math.Sin(angle) * distance, dropletRadius * (0.8 + random.NextDouble() * 0.35)));
        }
        (double cx, double cy) = PlaceCluster(canvas, random, [.. members, (0, 0, clump * 1.3)]);
        canvas.PaintAround(cx, cy, clump * 1.4 + 2, (dx, dy) =>
        {
            double d = Math.Sqrt(dx * dx + dy * dy);
            if (d > clump * (1 + 0.3 * ragged.Fractal(dx, dy))) return null;
            return 1 - contrast * (0.65 + 0.35 * texture.Fractal(dx, dy));
        });
        foreach (var (x, y, r) in members) ParticleShapes.Droplet(canvas, random, cx + x, cy + y, r, inverted: false);
    }

    private static void SmallParticleCluster(ParticleCanvas canvas, Random random, double radius)
    {
        int count = 4 + random.Next(6);
        double each = Math.Max(2.8, radius / Math.Sqrt(count) * 1.05);
        var members = Cluster(random, count, () => each * (0.7 + random.NextDouble() * 0.5), overlap: 0.97);
        (double cx, double cy) = PlaceCluster(canvas, random, members);
        foreach (var (x, y, r) in members)
        {
            double pick = random.NextDouble();
            if (pick < 0.3)
            {
                ParticleShapes.Droplet(canvas, random, cx + x, cy + y, Math.Max(3, r), inverted: false);
                continue;
            }
            // Dark angular specks and faint protein bits: a small irregular polygon.
            bool dark = pick < 0.7;
            (double X, double Y)[] speck = [.. ParticleShapes.Shard(random, 3 + random.Next(4), r, maxStretch: 1.6).Select(p => (p.X + cx + x, p.Y + cy + y))];
            double level = dark ? 0.12 + random.NextDouble() * 0.2 : 0.62 + random.NextDouble() * 0.15;
            canvas.PaintAround(cx + x, cy + y, r * 2 + 1, (dx, dy) => Geometry.InsidePolygon(speck, cx + x + dx, cy + y + dy) ? level : null);
        }
    }

    /// <summary>
    /// Members placed one after another, each touching a random earlier one (centres <paramref name="overlap"/> of
    /// the sum of the radii apart, so they stick together) and not sitting on top of any other.
    /// </summary>
    private static List<(double X, double Y, double R)> Cluster(Random random, int count, Func<double> nextRadius, double overlap)
    {
        var members = new List<(double X, double Y, double R)> { (0, 0, nextRadius()) };
        while (members.Count < count)
        {
            double r = nextRadius();
            var (px, py, pr) = members[random.Next(members.Count)];
            for (int attempt = 0; attempt < 12; attempt++)
            {
                double angle = random.NextDouble() * 2 * Math.PI;
                double x = px + Math.Cos(angle) * (pr + r) * overlap, y = py + Math.Sin(angle) * (pr + r) * overlap;
                if (members.All(m => Math.Sqrt((m.X - x) * (m.X - x) + (m.Y - y) * (m.Y - y)) >= (m.R + r) * overlap - 1e-9))
                {
                    members.Add((x, y, r));
                    break;
                }
                if (attempt == 11) members.Add((px + Math.Cos(angle) * (pr + r) * 1.1, py + Math.Sin(angle) * (pr + r) * 1.1, r));
            }
        }
        return members;
    }

    /// <summary>
    /// Where to put the cluster's origin so that the middle of its members' box lands on a centre that keeps them
    /// inside the frame (jittered where there is room).
    /// </summary>
    private static (double X, double Y) PlaceCluster(ParticleCanvas canvas, Random random, IReadOnlyList<(double X, double Y, double R)> members)
    {
        double midX = (members.Min(m => m.X - m.R) + members.Max(m => m.X + m.R)) / 2;
        double midY = (members.Min(m => m.Y - m.R) + members.Max(m => m.Y + m.R)) / 2;
        double extent = members.Max(m => Math.Max(Math.Abs(m.X - midX), Math.Abs(m.Y - midY)) + m.R);
        (double x, double y) = ParticleShapes.Place(canvas, random, extent + 1);
        return (x - midX, y - midY);
    }
}
